"""Archi's CSV import set: elements.csv, relations.csv, properties.csv."""

from __future__ import annotations

import csv
import io

from ..archimate.model import Model
from ._text import xml_text

__all__ = ["archi_csv"]


def _table(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(header)
    w.writerows([[xml_text(c) for c in row] for row in rows])  # Archi stores them in XML later
    return buf.getvalue().encode("utf-8")


def archi_csv(model: Model, prefix: str = "") -> dict[str, bytes]:
    """The three files Archi's "Import CSV" reads (the model row first, as Archi exports it)."""
    elements = [[model.id, "ArchimateModel", model.name, model.documentation, ""]]
    elements += [
        [e.id, "Junction" if e.type.endswith("Junction") else e.type, e.name, e.documentation, ""]
        for e in model.elements
    ]
    relations = [[r.id, f"{r.type}Relationship", r.name, "", r.source, r.target, ""] for r in model.relationships]
    props = [[model.id, k, v] for k, v in sorted(model.properties.items())]
    for e in model.elements:
        props += [[e.id, k, e.properties[k]] for k in sorted(e.properties)]
    for r in model.relationships:
        props += [[r.id, k, r.properties[k]] for k in sorted(r.properties)]
    return {
        f"{prefix}elements.csv": _table(["ID", "Type", "Name", "Documentation", "Specialization"], elements),
        f"{prefix}relations.csv": _table(
            ["ID", "Type", "Name", "Documentation", "Source", "Target", "Specialization"], relations
        ),
        f"{prefix}properties.csv": _table(["ID", "Key", "Value"], props),
    }
