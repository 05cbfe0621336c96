"""Property: DOT -> ArchiMate exchange XML -> DOT keeps nodes, edges and groupings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dot2archimate import ConvertOptions, convert, exchange_to_graph, parse_dot, to_dot
from dot2archimate.dot.graph import Edge, Graph, Node, Subgraph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# node names: anything DOT can quote (no backslash: DOT cannot express a trailing one)
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s[:7].lower() != "cluster")


@st.composite
def graphs(draw: Any) -> Graph:
    names = draw(st.lists(NAMES, min_size=1, max_size=12, unique=True))
    g = Graph(name="prop", directed=True)
    for n in names:
        g.nodes[n] = Node(n, {})
    for _ in range(draw(st.integers(0, 20))):
        g.edges.append(Edge(draw(st.sampled_from(names)), draw(st.sampled_from(names)), {}))
    # a random cluster tree: each node at most in one innermost cluster
    n_clusters = draw(st.integers(0, 4))
    clusters: list[Subgraph] = []
    for i in range(n_clusters):
        sg = Subgraph(f"cluster_{i}", {"label": f"C{i}"})
        parent = draw(st.sampled_from([None, *clusters])) if clusters else None
        (parent.children if parent else g.subgraphs).append(sg)
        clusters.append(sg)
    parents = {id(c): p for p in clusters for c in p.children}
    for n in names:
        home = draw(st.sampled_from([None, *clusters]))
        while home is not None:
            home.nodes[n] = None
            home = parents.get(id(home))
    return g


def membership(g: Graph) -> dict[str, frozenset[str]]:
    return {c.name: frozenset(c.nodes) for c in g.clusters()}


def cluster_parents(g: Graph) -> dict[str, str | None]:
    return {c.name: p.name if p else None for c, p in g.cluster_forest()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_dot_archimate_dot_keeps_nodes_edges_groupings(g: Graph) -> None:
    text = to_dot(g)
    original = parse_dot(text)  # through our own writer and parser first
    assert set(original.nodes) == set(g.nodes)
    # input_kind="dot": a node named like terraform's "[root] ..." would otherwise switch to terraform mode
    result = convert(text, ConvertOptions(layout=None, validate=True, input_kind="dot"))
    assert result.report.xsd["valid"] is True, result.report.xsd["errors"]
    xml = result.output
    back = exchange_to_graph(xml)
    assert set(back.nodes) == set(original.nodes)
    assert Counter((e.tail, e.head) for e in back.edges) == Counter((e.tail, e.head) for e in original.edges)
    assert membership(back) == membership(original)
    assert cluster_parents(back) == cluster_parents(original)
    # and the DOT we write back parses to the same thing again
    again = parse_dot(to_dot(back))
    assert set(again.nodes) == set(back.nodes)
    assert membership(again) == membership(back)
