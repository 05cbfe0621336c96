"""Write a `Graph` back as DOT text (every ID quoted; HTML values kept as HTML strings)."""

from __future__ import annotations

from .graph import Graph, HtmlString, Subgraph

__all__ = ["quote", "to_dot"]


def quote(value: str) -> str:
    if isinstance(value, HtmlString):
        return f"<{value}>"
    return '"' + value.replace('"', '\\"') + '"'


def _attrs(attrs: dict[str, str]) -> str:
    if not attrs:
        return ""
    return " [" + ", ".join(f"{quote(k)}={quote(v)}" for k, v in attrs.items()) + "]"


def to_dot(graph: Graph) -> str:
    op = " -> " if graph.directed else " -- "
    head = ("strict " if graph.strict else "") + ("digraph" if graph.directed else "graph")
    lines = [f"{head} {quote(graph.name)} {{" if graph.name else f"{head} {{"]
    for k, v in graph.attrs.items():
        lines.append(f"  {quote(k)}={quote(v)};")
    for node in graph.nodes.values():
        lines.append(f"  {quote(node.name)}{_attrs(node.attrs)};")

    def sub(sg: Subgraph, indent: str) -> None:
        lines.append(f"{indent}subgraph {quote(sg.name)} {{")
        for k, v in sg.attrs.items():
            lines.append(f"{indent}  {quote(k)}={quote(v)};")
        nested = {n for c in sg.children for n in c.nodes}
        for n in sg.nodes:
            if n not in nested:
                lines.append(f"{indent}  {quote(n)};")
        for c in sg.children:
            sub(c, indent + "  ")
        lines.append(f"{indent}}}")

    for sg in graph.subgraphs:
        sub(sg, "  ")
    for e in graph.edges:
        attrs = {k: v for k, v in e.attrs.items() if k not in ("tailport", "headport")}
        tail = quote(e.tail) + (":" + quote(e.attrs["tailport"]) if "tailport" in e.attrs else "")
        hd = quote(e.head) + (":" + quote(e.attrs["headport"]) if "headport" in e.attrs else "")
        if e.key is not None:
            attrs["key"] = e.key
        lines.append(f"  {tail}{op}{hd}{_attrs(attrs)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
