"""XSD validation of exchange-format XML against the schemas shipped in the package (offline)."""

from __future__ import annotations

import threading
from importlib import resources

from lxml import etree

from .errors import SchemaValidationError
from .xmlsafe import parse_untrusted_xml

__all__ = ["assert_valid", "xsd_errors"]

_local = threading.local()  # lxml schema objects are not shared between threads
_DATA = resources.files("dot2archimate") / "data"


def _schema() -> etree.XMLSchema:
    """This thread's schema, built once from the package's XSDs.

    The package's archimate3_Model.xsd imports `xml.xsd` by its local name (Archi's copy names the
    W3C URL): plain relative file imports need no lxml resolver, which concurrent parsing in other
    threads made unreliable ("xml:lang does not resolve"), and nothing is copied to a temp folder.
    """
    schema = getattr(_local, "schema", None)
    if schema is None:
        with resources.as_file(_DATA / "archimate3_Diagram.xsd") as path:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            schema = etree.XMLSchema(etree.parse(str(path), parser))
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
