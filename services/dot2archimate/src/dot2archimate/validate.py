"""XSD validation of exchange-format XML against the schemas shipped in the package (offline)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path

from lxml import etree

from .errors import SchemaValidationError
from .xmlsafe import parse_untrusted_xml

__all__ = ["assert_valid", "xsd_errors"]

_local = threading.local()  # lxml schema objects are not shared between threads
_lock = threading.Lock()
_prepared: list[Path] = []
_SCHEMAS = ("archimate3_Diagram.xsd", "archimate3_View.xsd", "archimate3_Model.xsd", "xml.xsd")
_W3C_XML_XSD = 'schemaLocation="http://www.w3.org/2001/xml.xsd"'


def _schema_folder() -> Path:
    """A private copy of the XSDs whose xml.xsd import names the local file.

    A custom lxml resolver for that import is not reliable under threads: while another thread
    parses XML, schema construction sometimes misses it ("xml:lang does not resolve"). Plain
    relative file imports need no resolver, so concurrent first conversions are safe.
    """
    with _lock:
        if not _prepared:
            folder = Path(tempfile.mkdtemp(prefix="d2a-xsd-"))
            source = resources.files("dot2archimate") / "data"
            for name in _SCHEMAS:
                text = (source / name).read_text(encoding="utf-8")
                (folder / name).write_text(text.replace(_W3C_XML_XSD, 'schemaLocation="xml.xsd"'), encoding="utf-8")
            atexit.register(shutil.rmtree, folder, True)
            _prepared.append(folder)
        return _prepared[0]


def _schema() -> etree.XMLSchema:
    schema = getattr(_local, "schema", None)
    if schema is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        doc = etree.parse(str(_schema_folder() / "archimate3_Diagram.xsd"), parser)
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
