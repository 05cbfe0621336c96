"""DOT language: parse Graphviz text into a `Graph`, write it back, strip unsafe attributes."""

from .graph import Edge, Graph, HtmlString, Node, Subgraph
from .parser import decode_dot, parse_dot, parse_dot_all

__all__ = ["Edge", "Graph", "HtmlString", "Node", "Subgraph", "decode_dot", "parse_dot", "parse_dot_all"]
