"""Parsing XML we did not write: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

from lxml import etree

from .errors import GraphTooLargeError, UnsafeXmlError

__all__ = ["MAX_XML_BYTES", "parse_untrusted_xml"]

MAX_XML_BYTES = 50 * 1024 * 1024


def parse_untrusted_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse `data`, refusing any DOCTYPE (the carrier of XXE and entity bombs) with `UnsafeXmlError`."""
    if len(data) > max_bytes:
        raise GraphTooLargeError("XML bytes", max_bytes, len(data))
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(f"not well-formed XML: {exc}") from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("XML with a DOCTYPE is refused (DTDs and entities are not allowed)")
    return tree
