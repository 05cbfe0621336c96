"""Mapping: element types, groupings, the ArchiMate relationship table and invalid-relationship policies."""

from __future__ import annotations

import threading

import pytest
from dot2archimate.archimate import relationship_table
from dot2archimate.dot import parse_dot
from dot2archimate.errors import RelationshipPolicyError
from dot2archimate.mapping import map_graph
from dot2archimate.rules import builtin_rules, load_rules


def rules(policy: str, relationship: str = "Serving", clusters: str = "grouping") -> object:
    return load_rules(
        f"""
version: 1
name: p
defaults: {{element: Node, relationship: {relationship}, on_invalid: {policy}, clusters: {clusters}}}
elements:
  - {{id: data, match: {{shape: cylinder}}, element: DataObject}}
  - {{id: actor, match: {{shape: Mdiamond}}, element: BusinessActor}}
  - {{id: sw, match: {{kind: cluster, id: "^cluster_sw"}}, element: SystemSoftware}}
"""
    )


def test_relationship_table_matches_archimate_32() -> None:
    t = relationship_table()
    assert t.version == "3.2"
    assert t.is_allowed("Serving", "Node", "SystemSoftware")
    assert not t.is_allowed("Serving", "DataObject", "Node")  # passive structure serves nothing
    assert t.is_allowed("Access", "Node", "DataObject")
    assert "Association" in t.allowed("Goal", "Artifact")
    assert t.allowed("AndJunction", "Node") == t.allowed("Junction", "Node")


GRAPH = "digraph G { d [shape=cylinder]; n; d -> n; n -> n2 }"


def rel_types(result: object) -> list[tuple[str, str, str]]:
    names = {e.id: e.name for e in result.model.elements}  # type: ignore[attr-defined]
    return [(r.type, names[r.source], names[r.target]) for r in result.model.relationships]  # type: ignore[attr-defined]


def test_policy_derive_reverses_when_that_is_valid() -> None:
    res = map_graph(parse_dot(GRAPH), rules("derive", "Access"))  # Access DataObject->Node invalid; Node->DataObject ok
    assert ("Access", "n", "d") in rel_types(res)
    issue = res.report.issues[0]
    assert (issue.severity, issue.code, issue.subject) == ("warning", "relationship.reversed", "d -> n")
    rel = next(r for r in res.model.relationships if r.type == "Access")
    assert rel.properties["dot:reversed"] == "true"


def test_policy_derive_falls_back_along_the_preference_order() -> None:
    res = map_graph(parse_dot(GRAPH), rules("derive", "Serving"))
    # Serving DataObject->Node is invalid both ways; the first valid type in the preference list is used
    derived = rel_types(res)[0]
    assert derived[1:] == ("d", "n")
    assert relationship_table().is_allowed(derived[0], "DataObject", "Node")
    assert res.explain[-2].action == "derived"


def test_policy_association_drop_and_error() -> None:
    res = map_graph(parse_dot(GRAPH), rules("association"))
    assert rel_types(res)[0] == ("Association", "d", "n")
    assert res.report.issues[0].code == "relationship.downgraded"

    res = map_graph(parse_dot(GRAPH), rules("drop"))
    assert rel_types(res) == [("Serving", "n", "n2")]
    assert res.report.to_dict()["issues"][0]["code"] == "relationship.dropped"
    assert res.report.valid  # warnings do not invalidate

    with pytest.raises(RelationshipPolicyError, match="d -> n: Serving is not allowed from DataObject to Node") as info:
        map_graph(parse_dot(GRAPH), rules("error"))
    report = info.value.report  # type: ignore[attr-defined]
    assert not report.valid
    assert report.to_dict()["counts"]["issues"] == {"error": 1}


def test_every_produced_relationship_is_allowed_by_the_table() -> None:
    src = "digraph { a [shape=Mdiamond]; b [shape=cylinder]; c; a -> b -> c -> a; b -> b; subgraph cluster_x { a c } }"
    for policy in ("derive", "association"):
        for rel in ("Serving", "Composition", "Influence", "Triggering", "Specialization"):
            res = map_graph(parse_dot(src), rules(policy, rel))
            types = {e.id: e.type for e in res.model.elements}
            for r in res.model.relationships:
                assert relationship_table().is_allowed(r.type, types[r.source], types[r.target]), (
                    policy,
                    rel,
                    r,
                )


def test_clusters_become_nested_groupings_with_aggregation() -> None:
    g = parse_dot('digraph { subgraph cluster_o { label="Outer"; a; subgraph cluster_i { b } } c }')
    res = map_graph(g, builtin_rules())
    by_name = {e.properties["dot:id"]: e for e in res.model.elements}
    assert by_name["cluster_o"].type == by_name["cluster_i"].type == "Grouping"
    assert by_name["cluster_i"].name == "Outer"  # Graphviz: a cluster inherits the label set before it
    outer, inner = by_name["cluster_o"].id, by_name["cluster_i"].id
    members = {(r.source, r.target) for r in res.model.relationships if r.properties.get("dot:membership")}
    assert members == {(outer, inner), (outer, by_name["a"].id), (inner, by_name["b"].id)}
    assert res.nesting == {outer: [inner, by_name["a"].id], inner: [by_name["b"].id]}
    assert res.roots == [outer, by_name["c"].id]
    explained = {(x.kind, x.source): x for x in res.explain}
    assert explained[("element", "c")].rule is None
    assert explained[("grouping", "cluster_o")].type == "Grouping"


def test_cluster_nesting_mode_maps_cluster_to_element_and_derives_membership() -> None:
    g = parse_dot("digraph { subgraph cluster_sw { d [shape=cylinder]; n } }")
    res = map_graph(g, rules("derive", clusters="nesting"))
    sw = next(e for e in res.model.elements if e.type == "SystemSoftware")
    types = {e.id: e.type for e in res.model.elements}
    members = [r for r in res.model.relationships if r.source == sw.id]
    assert {types[r.target] for r in members} == {"DataObject", "Node"}
    for r in members:
        assert relationship_table().is_allowed(r.type, "SystemSoftware", types[r.target])


def test_cluster_ignore_mode_and_compound_edges() -> None:
    res = map_graph(parse_dot("digraph { subgraph cluster_a { a } a -> b }"), rules("derive", clusters="ignore"))
    assert [e.type for e in res.model.elements] == ["Node", "Node"]
    g = parse_dot("digraph { compound=true; subgraph cluster_a { a } b; b -> a [lhead=cluster_a] }")
    res = map_graph(g, builtin_rules())
    grouping = next(e for e in res.model.elements if e.type == "Grouping")
    edge = next(r for r in res.model.relationships if not r.properties.get("dot:membership"))
    assert edge.target == grouping.id


def test_ids_are_deterministic_and_namespaced() -> None:
    g = parse_dot("digraph G { a -> b; a -> b }")
    one, two = map_graph(g, builtin_rules()), map_graph(g, builtin_rules())
    assert [e.id for e in one.model.elements] == [e.id for e in two.model.elements]
    ids = [r.id for r in one.model.relationships]
    assert len(set(ids)) == 2  # parallel edges keep distinct, stable ids
    other = map_graph(g, builtin_rules(), namespace="tenant-2")
    assert not {e.id for e in other.model.elements} & {e.id for e in one.model.elements}


def test_concurrent_mappings_do_not_share_state() -> None:
    graphs = [parse_dot(f"digraph G{i} {{ {' -> '.join(f'n{j}' for j in range(i + 2))} }}") for i in range(8)]
    expected = [[e.id for e in map_graph(g, builtin_rules()).model.elements] for g in graphs]
    got: dict[int, list[str]] = {}

    def work(i: int) -> None:
        for _ in range(20):
            got[i] = [e.id for e in map_graph(graphs[i], builtin_rules()).model.elements]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(8)] == expected


def test_labels_become_names_and_html_is_flattened() -> None:
    g = parse_dot(
        r'digraph { a [label="Line1\nLine2 \N"]; b [label=<<b>Bold</b><br/>x &amp; y>];'
        r' c [shape=record, label="<f0> left|<f1> right"] }'
    )
    names = [e.name for e in map_graph(g, builtin_rules()).model.elements]
    assert names == ["Line1\nLine2 a", "Bold\nx & y", "left | right"]
