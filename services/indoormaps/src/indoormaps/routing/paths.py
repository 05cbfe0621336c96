"""Shared path-table plumbing: both routers produce {(source, target): (cost, nodes, edges)} and the
same `choose_path` picks the cheapest candidate pair, so they can only differ in the search itself."""

from __future__ import annotations

from collections.abc import Mapping

from indoormaps.routing.model import Anchor, PathChoice

__all__ = ["PathTable", "choose_path"]

PathTable = Mapping[tuple[int, int], tuple[float, tuple[int, ...], tuple[int, ...]]]


def choose_path(origin: Anchor, destination: Anchor, table: PathTable) -> PathChoice | None:
    best: tuple[tuple[float, int, int], PathChoice] | None = None
    for o in origin.candidates:
        for d in destination.candidates:
            nodes: tuple[int, ...]
            edges: tuple[int, ...]
            if o.node == d.node:
                cost, nodes, edges = 0.0, (o.node,), ()
            elif (o.node, d.node) in table:
                cost, nodes, edges = table[(o.node, d.node)]
            else:
                continue
            total = o.offset_cost + cost + d.offset_cost
            key = (total, o.node, d.node)
            if best is None or key < best[0]:
                best = (key, PathChoice(o, d, total, nodes, edges))
    return best[1] if best else None
