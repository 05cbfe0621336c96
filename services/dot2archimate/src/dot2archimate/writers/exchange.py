"""The Open Group ArchiMate exchange format (XML), valid against the 3.1 XSDs shipped with Archi."""

from __future__ import annotations

from lxml import etree

from ..archimate.model import Model, ViewNode
from ..ids import make_id
from ._text import xml_text

__all__ = ["NS", "XSI", "exchange_xml"]

NS = "http://www.opengroup.org/xsd/archimate/3.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SCHEMA_LOCATION = f"{NS} http://www.opengroup.org/xsd/archimate/3.1/archimate3_Diagram.xsd"
_Q = "{%s}%%s" % NS  # noqa: UP031  # builds a format string
_XSI_TYPE = f"{{{XSI}}}type"
_LANG = f"{{{XML_NS}}}lang"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _Q % tag, attrs)
    if text is not None:
        el.text = xml_text(text)
    return el


def _lang_text(parent: etree._Element, tag: str, text: str, lang: str) -> None:
    el = _sub(parent, tag, text)
    if lang:
        el.set(_LANG, lang)


def exchange_xml(model: Model, *, lang: str = "en") -> bytes:
    """Serialise `model` (deterministic: same model, same bytes)."""
    keys = sorted(
        {k for e in model.elements for k in e.properties}
        | {k for r in model.relationships for k in r.properties}
        | set(model.properties)
    )
    prop_id = {k: make_id(model.id, "property", k) for k in keys}

    def properties(parent: etree._Element, props: dict[str, str]) -> None:
        if not props:
            return
        holder = _sub(parent, "properties")
        for k in sorted(props):
            p = _sub(holder, "property", propertyDefinitionRef=prop_id[k])
            _lang_text(p, "value", props[k], lang)

    root = etree.Element(_Q % "model", nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    root.set("identifier", model.id)
    _lang_text(root, "name", model.name or "Model", lang)
    if model.documentation:
        _lang_text(root, "documentation", model.documentation, lang)
    properties(root, model.properties)

    if model.elements:
        elements = _sub(root, "elements")
        for e in model.elements:
            el = _sub(elements, "element", identifier=e.id)
            el.set(_XSI_TYPE, e.type)
            _lang_text(el, "name", e.name, lang)
            if e.documentation:
                _lang_text(el, "documentation", e.documentation, lang)
            properties(el, e.properties)
    if model.relationships:
        rels = _sub(root, "relationships")
        for r in model.relationships:
            el = _sub(rels, "relationship", identifier=r.id, source=r.source, target=r.target)
            el.set(_XSI_TYPE, r.type)
            if r.name:
                _lang_text(el, "name", r.name, lang)
            properties(el, r.properties)
    if keys:
        defs = _sub(root, "propertyDefinitions")
        for k in keys:
            d = _sub(defs, "propertyDefinition", identifier=prop_id[k], type="string")
            _lang_text(d, "name", k, lang)
    if model.views:
        diagrams = _sub(_sub(root, "views"), "diagrams")
        for v in model.views:
            ve = _sub(diagrams, "view", identifier=v.id)
            ve.set(_XSI_TYPE, "Diagram")
            _lang_text(ve, "name", v.name, lang)

            def node(parent: etree._Element, vn: ViewNode) -> None:
                ne = _sub(
                    parent, "node", identifier=vn.id, elementRef=vn.element,
                    x=str(vn.x), y=str(vn.y), w=str(vn.w), h=str(vn.h),
                )  # fmt: skip
                ne.set(_XSI_TYPE, "Element")
                for child in vn.children:
                    node(ne, child)

            for vn in v.nodes:
                node(ve, vn)
            for c in v.connections:
                ce = _sub(ve, "connection", identifier=c.id, relationshipRef=c.relationship,
                          source=c.source, target=c.target)  # fmt: skip
                ce.set(_XSI_TYPE, "Relationship")
                for x, y in c.bendpoints:
                    _sub(ce, "bendpoint", x=str(x), y=str(y))
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
