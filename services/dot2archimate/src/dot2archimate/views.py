"""Split a mapped model into views of bounded size, lay each out, and attach them to the model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .archimate.model import Connection, Model, View, ViewNode
from .budget import Deadline
from .ids import make_id
from .layout import LayoutOptions, Placement, ViewSpec, grid_layout, layout_view
from .mapping import PROP_MEMBERSHIP, MappingResult

__all__ = ["DEFAULT_MAX_VIEW_NODES", "add_views", "plan_views"]

#: elements per view before a model is split into several views (with or without Graphviz)
DEFAULT_MAX_VIEW_NODES = 150


def _leaves(ident: str, nesting: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    stack = [ident]
    while stack:
        cur = stack.pop()
        children = nesting.get(cur, [])
        if children:
            stack.extend(reversed(children))
        else:
            out.append(cur)
    return out


def plan_views(result: MappingResult, max_nodes: int, name: str) -> list[ViewSpec]:
    """Pack top-level clusters and connected groups of loose nodes into views of <= max_nodes leaves.

    A cluster larger than a view is cut into chunks; each chunk view repeats the enclosing groupings.
    """
    nesting = result.nesting
    rels = [r for r in result.model.relationships if r.properties.get(PROP_MEMBERSHIP) != "true"]

    # loose top-level nodes: group by connected component so related nodes share a view
    loose = [r for r in result.roots if not nesting.get(r)]
    parent = {x: x for x in loose}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rels:
        if r.source in parent and r.target in parent:
            a, b = find(r.source), find(r.target)
            if a != b:
                parent[max(a, b)] = min(a, b)
    units: list[list[str]] = []
    comp_index: dict[str, int] = {}
    for root in result.roots:
        if nesting.get(root):
            units.append([root])
        else:
            c = find(root)
            if c not in comp_index:
                comp_index[c] = len(units)
                units.append([])
            units[comp_index[c]].append(root)

    # bins of leaf sets; oversized units are chunked
    bins: list[list[str]] = []
    current: list[str] = []
    for unit in units:
        leaves = [leaf for u in unit for leaf in _leaves(u, nesting)]
        if len(leaves) > max_nodes:
            for i in range(0, len(leaves), max_nodes):
                bins.append(leaves[i : i + max_nodes])
            continue
        if current and len(current) + len(leaves) > max_nodes:
            bins.append(current)
            current = []
        current.extend(leaves)
    if current or not bins:
        bins.append(current)

    parent_of = {child: p for p, children in nesting.items() for child in children}
    specs: list[ViewSpec] = []
    for k, leaves in enumerate(bins):
        present = set(leaves)
        for leaf in leaves:  # bring the enclosing groupings along
            p = parent_of.get(leaf)
            while p is not None and p not in present:
                present.add(p)
                p = parent_of.get(p)
        sub = {g: [c for c in children if c in present] for g, children in nesting.items() if g in present}
        roots = [r for r in result.roots if r in present]
        edges = [(r.id, r.source, r.target) for r in rels if r.source in present and r.target in present]
        title = name if len(bins) == 1 else f"{name} ({k + 1}/{len(bins)})"
        specs.append(ViewSpec(title, roots, sub, edges))
    return specs


def _view(model_ns: str, index: int, spec: ViewSpec, placement: Placement) -> View:
    view = View(make_id(model_ns, "view", str(index)), spec.name, engine=placement.engine)
    vid: dict[str, str] = {}

    def node(ident: str) -> ViewNode:
        x, y, w, h = placement.bounds[ident]
        vn = ViewNode(make_id(view.id, "node", ident), ident, max(0, x), max(0, y), max(1, w), max(1, h))
        vid[ident] = vn.id
        vn.children = [node(c) for c in spec.nesting.get(ident, [])]
        return vn

    view.nodes = [node(r) for r in spec.roots]
    for rel, src, tgt in spec.edges:
        bends = [(max(0, x), max(0, y)) for x, y in placement.bendpoints.get(rel, [])]
        view.connections.append(Connection(make_id(view.id, "conn", rel), rel, vid[src], vid[tgt], bends))
    return view


def add_views(
    model: Model,
    result: MappingResult,
    options: LayoutOptions | None,
    namespace: str,
    *,
    max_view_nodes: int = DEFAULT_MAX_VIEW_NODES,
    deadline: Deadline | None = None,
) -> list[dict[str, object]]:
    """Plan views of at most `max_view_nodes` elements, lay them out and attach them.

    `options=None` skips Graphviz (grid packing); the split into views is the same either way.
    Returns the layout notes per view.
    """
    specs = plan_views(result, max_view_nodes, model.name)
    if deadline is not None:
        deadline.check("views")
    if options is None:
        placements = [grid_layout(s, LayoutOptions()) for s in specs]
    elif options.workers > 1 and len(specs) > 1:
        with ThreadPoolExecutor(max_workers=options.workers) as pool:
            placements = list(pool.map(lambda s: layout_view(s, options, deadline), specs))
    else:
        placements = [layout_view(s, options, deadline) for s in specs]
    model.views = [_view(namespace, i, s, p) for i, (s, p) in enumerate(zip(specs, placements, strict=True))]
    return [
        {"view": v.name, "engine": p.engine, "nodes": len(p.bounds), "notes": p.notes}
        for v, p in zip(model.views, placements, strict=True)
    ]
