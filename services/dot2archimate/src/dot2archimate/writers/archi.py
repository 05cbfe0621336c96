"""Archi's native `.archimate` model file (plain XML, the format Archi opens directly)."""

from __future__ import annotations

from lxml import etree

from ..archimate.metamodel import LAYER_OF
from ..archimate.model import Connection, Model, ViewNode
from ..ids import make_id
from ._text import xml_text

__all__ = ["ARCHI_NS", "archi_xml"]

ARCHI_NS = "http://www.archimatetool.com/archimate"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{XSI}}}type"
_FOLDERS = (
    ("Strategy", "strategy"),
    ("Business", "business"),
    ("Application", "application"),
    ("Technology & Physical", "technology"),
    ("Motivation", "motivation"),
    ("Implementation & Migration", "implementation_migration"),
    ("Other", "other"),
    ("Relations", "relations"),
    ("Views", "diagrams"),
)


def _archi_type(element_type: str) -> str:
    return "Junction" if element_type in ("AndJunction", "OrJunction") else element_type


def _props(el: etree._Element, props: dict[str, str]) -> None:
    for k in sorted(props):
        etree.SubElement(el, "property", key=xml_text(k), value=xml_text(props[k]))


def _child(
    parent: etree._Element,
    vn: ViewNode,
    px: int,
    py: int,
    boxes: dict[str, ViewNode],
    outgoing: dict[str, list[Connection]],
    incoming: dict[str, list[str]],
) -> None:
    """One diagram object; Archi wants bounds relative to the parent, bendpoints to the centres."""
    ce = etree.SubElement(parent, "child")
    ce.set(_XSI_TYPE, "archimate:DiagramObject")
    ce.set("id", vn.id)
    if vn.id in incoming:
        ce.set("targetConnections", " ".join(incoming[vn.id]))
    ce.set("archimateElement", vn.element)
    etree.SubElement(ce, "bounds", x=str(vn.x - px), y=str(vn.y - py), width=str(vn.w), height=str(vn.h))
    for c in outgoing.get(vn.id, []):
        s, t = boxes[c.source], boxes[c.target]
        sx, sy = s.x + s.w // 2, s.y + s.h // 2
        tx, ty = t.x + t.w // 2, t.y + t.h // 2
        se = etree.SubElement(ce, "sourceConnection")
        se.set(_XSI_TYPE, "archimate:Connection")
        se.set("id", c.id)
        se.set("source", c.source)
        se.set("target", c.target)
        se.set("archimateRelationship", c.relationship)
        for x, y in c.bendpoints:
            etree.SubElement(
                se, "bendpoint", startX=str(x - sx), startY=str(y - sy), endX=str(x - tx), endY=str(y - ty)
            )
    for sub in vn.children:
        _child(ce, sub, vn.x, vn.y, boxes, outgoing, incoming)


def archi_xml(model: Model) -> bytes:
    """Serialise `model` as an Archi model file; child bounds and bendpoints relative as Archi wants."""
    root = etree.Element(f"{{{ARCHI_NS}}}model", nsmap={"xsi": XSI, "archimate": ARCHI_NS})
    root.set("name", xml_text(model.name or "Model"))
    root.set("id", model.id)
    root.set("version", "5.0.0")
    folders = {}
    for label, ftype in _FOLDERS:
        folders[ftype] = etree.SubElement(root, "folder", name=label, id=make_id(model.id, "folder", ftype), type=ftype)

    for e in model.elements:
        el = etree.SubElement(folders[LAYER_OF.get(e.type, "other")], "element")
        el.set(_XSI_TYPE, f"archimate:{_archi_type(e.type)}")
        el.set("name", xml_text(e.name))
        el.set("id", e.id)
        if e.type in ("AndJunction", "OrJunction"):
            el.set("type", "and" if e.type == "AndJunction" else "or")
        if e.documentation:
            etree.SubElement(el, "documentation").text = xml_text(e.documentation)
        _props(el, e.properties)
    for r in model.relationships:
        el = etree.SubElement(folders["relations"], "element")
        el.set(_XSI_TYPE, f"archimate:{r.type}Relationship")
        el.set("id", r.id)
        if r.name:
            el.set("name", xml_text(r.name))
        el.set("source", r.source)
        el.set("target", r.target)
        _props(el, r.properties)

    for v in model.views:
        ve = etree.SubElement(folders["diagrams"], "element")
        ve.set(_XSI_TYPE, "archimate:ArchimateDiagramModel")
        ve.set("name", xml_text(v.name))
        ve.set("id", v.id)
        boxes = {vn.id: vn for vn in v.walk()}
        outgoing: dict[str, list[Connection]] = {}
        incoming: dict[str, list[str]] = {}
        for c in v.connections:
            outgoing.setdefault(c.source, []).append(c)
            incoming.setdefault(c.target, []).append(c.id)
        for vn in v.nodes:
            _child(ve, vn, 0, 0, boxes, outgoing, incoming)
    _props(root, model.properties)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
