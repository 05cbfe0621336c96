"""SVG for the browser: converted views drawn from the model, and an allow-list SVG sanitizer.

Views are built element by element with lxml, so user text only ever lands in text nodes. Graphviz
SVG (the input preview) passes `sanitize_svg`: a rebuilt tree of allowed elements and presentation
attributes only: no scripts, event handlers, links, images, styles or foreign objects.
"""

from __future__ import annotations

from lxml import etree

from ..archimate.metamodel import LAYER_OF
from ..archimate.model import Model, View, ViewNode

__all__ = ["sanitize_svg", "view_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
_S = "{%s}%%s" % SVG_NS  # noqa: UP031

_FILL = {
    "strategy": "#f5deaa", "business": "#ffffb5", "application": "#b5ffff", "technology": "#c9e7b7",
    "motivation": "#ccccff", "implementation_migration": "#ffe0e0", "other": "#ffffff",
}  # fmt: skip
_DASHED = {"Flow": "6 4", "Access": "2 3", "Influence": "6 4", "Association": ""}
_MAX_CHARS = 26


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str | int) -> etree._Element:
    node = etree.SubElement(parent, _S % tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def _clip(text: str, limit: int = _MAX_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def view_svg(model: Model, view: View) -> bytes:
    """One laid-out view as standalone SVG (the coordinates Archi will show)."""
    elements = model.element_by_id()
    relationships = {r.id: r for r in model.relationships}
    nodes = view.walk()
    width = max((n.x + n.w for n in nodes), default=100) + 20
    height = max((n.y + n.h for n in nodes), default=60) + 20
    root = etree.Element(_S % "svg", nsmap={None: SVG_NS})
    root.set("viewBox", f"0 0 {width} {height}")
    root.set("width", str(width))
    root.set("height", str(height))
    root.set("font-family", "sans-serif")
    _el(root, "title", _clip(view.name, 120))
    defs = _el(root, "defs")
    marker = _el(defs, "marker", id="arrow", viewBox="0 0 10 10", refX=10, refY=5, markerWidth=8, markerHeight=8,
                 orient="auto-start-reverse")  # fmt: skip
    _el(marker, "path", d="M0,0 L10,5 L0,10 z", fill="#333")

    centre: dict[str, tuple[int, int]] = {n.id: (n.x + n.w // 2, n.y + n.h // 2) for n in nodes}
    groups = [n for n in nodes if n.children]
    leaves = [n for n in nodes if not n.children]

    def box(n: ViewNode, layer: str) -> None:
        element = elements.get(n.element)
        etype = element.type if element else ""
        g = _el(root, "g", **{"class": f"element {layer}"})
        _el(g, "title", f"{element.name if element else n.element} ({etype})")
        if n.children:
            _el(g, "rect", x=n.x, y=n.y, width=n.w, height=n.h, fill="#f7f7f7", stroke="#777",
                stroke_dasharray="5 3")  # fmt: skip
            _el(g, "text", _clip(element.name if element else "", 60), x=n.x + 6, y=n.y + 16, font_size=12,
                font_weight="bold")  # fmt: skip
            return
        _el(g, "rect", x=n.x, y=n.y, width=n.w, height=n.h, rx=4, fill=_FILL.get(layer, "#fff"), stroke="#444")
        _el(g, "text", _clip(element.name if element else ""), x=n.x + n.w // 2, y=n.y + n.h // 2,
            font_size=11, text_anchor="middle")  # fmt: skip
        _el(g, "text", f"«{etype}»", x=n.x + n.w // 2, y=n.y + n.h - 6, font_size=9, text_anchor="middle",
            fill="#555")  # fmt: skip

    for n in groups:
        box(n, "other")
    for c in view.connections:
        if c.source not in centre or c.target not in centre:
            continue
        rel = relationships.get(c.relationship)
        rtype = rel.type if rel else ""
        points = [centre[c.source], *c.bendpoints, centre[c.target]]
        attrs: dict[str, str | int] = {"points": " ".join(f"{x},{y}" for x, y in points), "fill": "none",
                                       "stroke": "#333", "stroke_width": 1}  # fmt: skip
        if _DASHED.get(rtype):
            attrs["stroke_dasharray"] = _DASHED[rtype]
        if rtype != "Association":
            attrs["marker_end"] = "url(#arrow)"
        line = _el(root, "polyline", None, **attrs)
        _el(line, "title", f"{rtype}: {rel.name}" if rel and rel.name else rtype)
    for n in leaves:
        element = elements.get(n.element)
        box(n, LAYER_OF.get(element.type, "other") if element else "other")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


_ALLOWED_ELEMENTS = frozenset(
    {"svg", "g", "title", "desc", "defs", "polygon", "polyline", "path", "ellipse", "circle", "rect", "line",
     "text", "tspan", "marker"}
)  # fmt: skip
_ALLOWED_ATTRIBUTES = frozenset(
    {"id", "class", "transform", "points", "d", "cx", "cy", "rx", "ry", "r", "x", "y", "x1", "y1", "x2", "y2",
     "dx", "dy", "width", "height", "viewBox", "preserveAspectRatio", "fill", "fill-opacity", "stroke",
     "stroke-width", "stroke-opacity", "stroke-dasharray", "stroke-linecap", "stroke-linejoin", "opacity",
     "font-family", "font-size", "font-weight", "font-style", "text-anchor", "text-decoration",
     "baseline-shift", "dominant-baseline", "refX", "refY", "markerWidth", "markerHeight", "orient",
     "marker-end", "marker-start"}
)  # fmt: skip
_UNWRAP = frozenset({"a", "switch"})  # keep their drawing, drop the link


def _safe_value(name: str, value: str) -> bool:
    lowered = value.lower()
    if "url(" in lowered:  # only local references such as url(#arrow)
        return name.startswith("marker") and lowered.startswith("url(#") and lowered[-1] == ")"
    return "javascript:" not in lowered and "expression(" not in lowered


def sanitize_svg(svg: bytes) -> bytes:
    """Rebuild `svg` keeping only allow-listed elements and attributes (text content is kept as text)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)  # fmt: skip
    source = etree.fromstring(svg, parser)
    out = etree.Element(_S % "svg", nsmap={None: SVG_NS})

    def local(el: etree._Element) -> str | None:
        if not isinstance(el.tag, str):
            return None
        qname = etree.QName(el)
        return qname.localname if qname.namespace in (SVG_NS, None) else None

    def copy_children(src: etree._Element, dst: etree._Element) -> None:
        for child in src:
            name = local(child)
            if name in _UNWRAP:
                copy_children(child, dst)
            elif name in _ALLOWED_ELEMENTS and name != "svg":
                node = etree.SubElement(dst, _S % name)
                copy_attrs(child, node)
                node.text = child.text
                node.tail = child.tail
                copy_children(child, node)
            # anything else (script, style, image, foreignObject, other namespaces) is dropped whole

    def copy_attrs(src: etree._Element, dst: etree._Element) -> None:
        for key, value in src.attrib.items():
            name = etree.QName(key).localname if "{" in key else key
            if "{" in key or name not in _ALLOWED_ATTRIBUTES or not _safe_value(name, value):
                continue
            dst.set(name, value)

    if local(source) != "svg":
        raise ValueError("not an SVG document")
    copy_attrs(source, out)
    copy_children(source, out)
    return bytes(etree.tostring(out, xml_declaration=True, encoding="UTF-8"))
