"""Remove attributes that make Graphviz read files or fonts named by the input."""

from __future__ import annotations

import copy

from .graph import Graph

__all__ = ["UNSAFE_ATTRIBUTES", "sanitize"]

#: attributes naming files or directories Graphviz would open (images, shapes, fonts, stylesheets)
UNSAFE_ATTRIBUTES = frozenset(
    {"image", "imagepath", "shapefile", "fontpath", "fontnames", "stylesheet", "imagescale",
     "href", "url", "URL", "labelhref", "labelURL", "headhref", "headURL", "tailhref", "tailURL",
     "edgehref", "edgeURL", "layout", "inputscale", "_background", "fontname"}
)  # fmt: skip


def _clean(attrs: dict[str, str], removed: set[str]) -> dict[str, str]:
    out = {}
    for k, v in attrs.items():
        if k in UNSAFE_ATTRIBUTES or k.lower() in UNSAFE_ATTRIBUTES:
            removed.add(k)
        elif "<img" in v.lower() and k in ("label", "xlabel", "headlabel", "taillabel"):
            removed.add(k)  # HTML labels can embed <IMG SRC="file">
        else:
            out[k] = v
    return out


def sanitize(graph: Graph) -> tuple[Graph, set[str]]:
    """A copy of `graph` without unsafe attributes, and the names of those removed."""
    g = copy.deepcopy(graph)
    removed: set[str] = set()
    g.attrs = _clean(g.attrs, removed)
    for n in g.nodes.values():
        n.attrs = _clean(n.attrs, removed)
    for e in g.edges:
        e.attrs = _clean(e.attrs, removed)
    for sg in g.walk_subgraphs():
        sg.attrs = _clean(sg.attrs, removed)
    return g, removed
