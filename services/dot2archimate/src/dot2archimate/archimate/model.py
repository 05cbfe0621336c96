"""The ArchiMate model produced by the mapping, independent of any file format."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Connection", "Element", "Model", "Relationship", "View", "ViewNode"]


@dataclass(slots=True)
class Element:
    id: str
    type: str
    name: str
    documentation: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Relationship:
    id: str
    type: str
    source: str
    target: str
    name: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ViewNode:
    """An element on a view; x/y are absolute, children are nested (groupings)."""

    id: str
    element: str
    x: int
    y: int
    w: int
    h: int
    children: list[ViewNode] = field(default_factory=list)


@dataclass(slots=True)
class Connection:
    id: str
    relationship: str
    source: str  # ViewNode id
    target: str  # ViewNode id
    bendpoints: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class View:
    id: str
    name: str
    nodes: list[ViewNode] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    engine: str = ""  # Graphviz engine that produced the layout ("grid" for the built-in fallback)

    def walk(self) -> list[ViewNode]:
        out: list[ViewNode] = []
        stack = list(reversed(self.nodes))
        while stack:
            vn = stack.pop()
            out.append(vn)
            stack.extend(reversed(vn.children))
        return out


@dataclass(slots=True)
class Model:
    id: str
    name: str
    documentation: str = ""
    elements: list[Element] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    views: list[View] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)

    def element_by_id(self) -> dict[str, Element]:
        return {e.id: e for e in self.elements}
