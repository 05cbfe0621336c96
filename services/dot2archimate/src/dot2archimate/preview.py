"""SVG preview of an input graph, rendered by Graphviz under the same sandbox as layout."""

from __future__ import annotations

from .dot.graph import Graph
from .dot.sanitize import sanitize
from .dot.writer import to_dot
from .layout import LayoutOptions, run_graphviz

__all__ = ["render_svg"]


def render_svg(graph: Graph, options: LayoutOptions | None = None) -> bytes:
    """Graphviz SVG of `graph` after stripping file-reading attributes; raises LayoutError/TimeoutExpired."""
    opts = options or LayoutOptions()
    clean, _removed = sanitize(graph)
    return run_graphviz(to_dot(clean), opts.engine, "svg", opts.timeout_s, opts.memory_mb)
