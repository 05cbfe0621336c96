"""XSD validation of exchange-format XML against the schemas shipped in the package (offline)."""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from lxml import etree

from .errors import SchemaValidationError
from .xmlsafe import parse_untrusted_xml

__all__ = ["assert_valid", "xsd_errors"]

_local = threading.local()  # lxml schema objects are not shared between threads


class _Offline(etree.Resolver):
    """Serve the W3C xml.xsd import from the package instead of the network."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url, public_id, context):  # type: ignore[no-untyped-def]
        if system_url and system_url.endswith("/xml.xsd"):
            return self.resolve_filename(str(self.folder / "xml.xsd"), context)
        return None


def _schema() -> etree.XMLSchema:
    schema = getattr(_local, "schema", None)
    if schema is None:
        with resources.as_file(resources.files("dot2archimate") / "data") as folder:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            parser.resolvers.add(_Offline(folder))
            doc = etree.parse(str(folder / "archimate3_Diagram.xsd"), parser)
            schema = etree.XMLSchema(doc)
        _local.schema = schema
    return schema


def xsd_errors(xml: bytes) -> list[str]:
    """Every XSD violation in `xml` as "line N: message" (empty list: valid)."""
    doc = parse_untrusted_xml(xml)
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def assert_valid(xml: bytes) -> None:
    errors = xsd_errors(xml)
    if errors:
        raise SchemaValidationError(errors)
