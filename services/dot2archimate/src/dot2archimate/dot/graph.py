"""The semantic DOT graph: what Graphviz would hold in memory after reading a file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Edge", "Graph", "HtmlString", "Node", "Subgraph", "is_cluster_name"]


class HtmlString(str):
    """An attribute value written as an HTML string (`<...>`) rather than a quoted one."""

    __slots__ = ()


def is_cluster_name(name: str) -> bool:
    return name[:7].lower() == "cluster"


@dataclass(slots=True)
class Node:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Edge:
    tail: str
    head: str
    attrs: dict[str, str] = field(default_factory=dict)
    key: str | None = None

    @property
    def tailport(self) -> str | None:
        return self.attrs.get("tailport")

    @property
    def headport(self) -> str | None:
        return self.attrs.get("headport")


@dataclass(slots=True)
class Subgraph:
    """A (possibly anonymous) subgraph; `nodes` holds every node in it, nested ones included."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, None] = field(default_factory=dict)  # ordered set
    children: list[Subgraph] = field(default_factory=list)
    anonymous: bool = False

    @property
    def is_cluster(self) -> bool:
        if self.anonymous:
            return False
        return is_cluster_name(self.name) or self.attrs.get("cluster", "").lower() in ("true", "1", "yes")

    def walk(self) -> Iterator[Subgraph]:
        stack = [self]
        while stack:
            sg = stack.pop()
            yield sg
            stack.extend(reversed(sg.children))


@dataclass(slots=True)
class Graph:
    name: str = ""
    directed: bool = True
    strict: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    subgraphs: list[Subgraph] = field(default_factory=list)

    def walk_subgraphs(self) -> Iterator[Subgraph]:
        for sg in self.subgraphs:
            yield from sg.walk()

    def cluster_forest(self) -> list[tuple[Subgraph, Subgraph | None]]:
        """Every cluster with its nearest enclosing cluster (None at top level), in DFS order."""
        out: list[tuple[Subgraph, Subgraph | None]] = []
        stack: list[tuple[Subgraph, Subgraph | None]] = [(sg, None) for sg in reversed(self.subgraphs)]
        while stack:
            sg, parent = stack.pop()
            if sg.is_cluster:
                out.append((sg, parent))
                parent = sg
            stack.extend((c, parent) for c in reversed(sg.children))
        return out

    def clusters(self) -> list[Subgraph]:
        return [c for c, _ in self.cluster_forest()]
