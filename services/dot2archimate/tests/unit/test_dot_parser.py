"""The DOT grammar and Graphviz's semantics, feature by feature."""

from __future__ import annotations

import pytest
from dot2archimate.dot import HtmlString, parse_dot, parse_dot_all
from dot2archimate.errors import DotSyntaxError, GraphTooLargeError
from dot2archimate.limits import Limits


def test_keywords_are_case_insensitive_and_strict_is_read() -> None:
    g = parse_dot("STRICT DiGraph G { NODE [shape=box]; a -> b; a -> b }")
    assert g.strict
    assert g.directed
    assert g.name == "G"
    assert [(e.tail, e.head) for e in g.edges] == [("a", "b")]  # strict merges the duplicate
    assert g.nodes["a"].attrs == {"shape": "box"}


def test_strict_undirected_merges_reversed_edge() -> None:
    g = parse_dot("strict graph { a -- b; b -- a [color=red] }")
    assert len(g.edges) == 1
    assert g.edges[0].attrs["color"] == "red"


def test_edge_key_merges_even_without_strict() -> None:
    g = parse_dot("digraph { a -> b [key=k]; a -> b [key=k, color=red]; a -> b }")
    assert len(g.edges) == 2
    assert g.edges[0].attrs == {"key": "k", "color": "red"}


def test_edge_chain_and_subgraph_operands_expand_to_cross_product() -> None:
    g = parse_dot("digraph { {a b} -> {c d} -> e [w=1] }")
    pairs = [(e.tail, e.head) for e in g.edges]
    assert pairs == [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")]
    assert all(e.attrs == {"w": "1"} for e in g.edges)
    assert list(g.nodes) == ["a", "b", "c", "d", "e"]


def test_ports_and_compass_points_become_tailport_headport() -> None:
    g = parse_dot('digraph { a:p1:ne -> b:s; "x":"f0" -> y }')
    assert g.edges[0].attrs == {"tailport": "p1:ne", "headport": "s"}
    assert g.edges[1].tailport == "f0"


def test_defaults_are_snapshotted_at_creation() -> None:
    g = parse_dot("digraph { a; node [color=red]; b; a; edge [style=dashed]; a -> b }")
    assert g.nodes["a"].attrs == {}  # created before the default
    assert g.nodes["b"].attrs == {"color": "red"}
    assert g.edges[0].attrs == {"style": "dashed"}


def test_subgraph_defaults_are_scoped_and_inherited() -> None:
    g = parse_dot(
        "digraph { node [shape=box]; subgraph s { node [color=blue]; x; subgraph t { y } } z;"
        " graph [label=Root]; subgraph cluster_c { w } }"
    )
    assert g.nodes["x"].attrs == {"shape": "box", "color": "blue"}
    assert g.nodes["y"].attrs == {"shape": "box", "color": "blue"}  # nested copy of parent's defaults
    assert g.nodes["z"].attrs == {"shape": "box"}  # outside the subgraph: no colour
    (cluster,) = g.clusters()
    assert cluster.attrs == {"label": "Root"}  # clusters inherit graph attributes set before them
    assert g.attrs == {"label": "Root"}


def test_reopened_subgraph_is_the_same_subgraph() -> None:
    g = parse_dot("digraph { subgraph cluster_a { x } subgraph cluster_a { y } }")
    assert [(c.name, list(c.nodes)) for c in g.clusters()] == [("cluster_a", ["x", "y"])]


def test_cluster_membership_includes_nested_and_cluster_attribute() -> None:
    g = parse_dot(
        "digraph { subgraph Cluster_A { a subgraph plain { subgraph cluster_b { b } } }"
        " subgraph s { cluster=true; c } }"
    )
    forest = [(c.name, p.name if p else None, sorted(c.nodes)) for c, p in g.cluster_forest()]
    assert forest == [("Cluster_A", None, ["a", "b"]), ("cluster_b", "Cluster_A", ["b"]), ("s", None, ["c"])]


def test_quoted_strings_concatenation_and_escapes() -> None:
    g = parse_dot('digraph { a [label="x" + "y\\"z" + "line\\\ncontinued", tooltip="keep\\n\\l"] }')
    assert g.nodes["a"].attrs["label"] == 'xy"zlinecontinued'
    assert g.nodes["a"].attrs["tooltip"] == "keep\\n\\l"  # escString is interpreted later, not by the parser


def test_html_labels_nest_and_are_marked() -> None:
    g = parse_dot("digraph { a [label=<<table><tr><td>x &lt; y</td></tr></table>>] }")
    label = g.nodes["a"].attrs["label"]
    assert isinstance(label, HtmlString)
    assert label == "<table><tr><td>x &lt; y</td></tr></table>"


def test_comments_hash_lines_and_numerals() -> None:
    src = "# preprocessor line\ndigraph { // line\n /* block\n */ -1.5 -> .5 -> 7. # tail comment\n 1a }"
    g = parse_dot(src)
    assert list(g.nodes) == ["-1.5", ".5", "7.", "1", "a"]  # "1a" splits in two, as in Graphviz


def test_utf8_and_latin1_input() -> None:
    g = parse_dot('digraph { Ärger -> 東京 [label="café"] }'.encode())
    assert list(g.nodes) == ["Ärger", "東京"]
    latin = parse_dot('digraph { "caf\xe9" }'.encode("latin-1"))
    assert list(latin.nodes) == ["café"]


def test_graph_level_assignment_and_several_graphs() -> None:
    graphs = parse_dot_all("graph A { rankdir=LR; a } digraph B { b }")
    assert [g.name for g in graphs] == ["A", "B"]
    assert graphs[0].attrs == {"rankdir": "LR"}
    assert not graphs[0].directed


@pytest.mark.parametrize(
    ("src", "line", "column", "fragment"),
    [
        ("digraph {\n  a -> ;\n}", 2, 8, "unexpected"),
        ("graph {\n a -> b }", 2, 4, "edge operator -> in an undirected graph"),
        ('digraph {\n a [label="open]\n}', 2, 11, "unterminated quoted string"),
        ("digraph { a", 1, 12, "end of input"),
        ("digraph { a [label=<<b>] }", 1, 20, "unterminated HTML"),
        ("digraph {\n\n  a @ b }", 3, 5, "unexpected character '@'"),
        ("digraph { /* never closed }", 1, 11, "unterminated /* comment"),
        ("digraph { a = }", 1, 15, "unexpected"),
        ("", 1, 1, "end of input"),
    ],
)
def test_syntax_errors_carry_line_and_column(src: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(DotSyntaxError) as info:
        parse_dot(src)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in str(info.value)


def test_limits_on_nodes_edges_depth_and_bytes() -> None:
    with pytest.raises(GraphTooLargeError, match="nodes"):
        parse_dot("digraph { a b c d }", Limits(max_nodes=3))
    # a 40-byte cross-product bomb: 100 x 100 edges from one statement
    left = " ".join(f"a{i}" for i in range(100))
    right = " ".join(f"b{i}" for i in range(100))
    with pytest.raises(GraphTooLargeError, match="edges"):
        parse_dot(f"digraph {{ {{{left}}} -> {{{right}}} }}", Limits(max_edges=5000))
    with pytest.raises(GraphTooLargeError, match="nesting"):
        parse_dot("digraph { " + "{ " * 100 + "x" + " }" * 100 + " }", Limits(max_depth=64))
    with pytest.raises(GraphTooLargeError, match="input bytes"):
        parse_dot("digraph { " + "a; " * 1000 + "}", Limits(max_bytes=100))


def test_deep_nesting_within_limits_does_not_hit_recursion_limit() -> None:
    g = parse_dot("digraph { " + "{ " * 300 + "x" + " }" * 300 + " }", Limits(max_depth=400))
    assert list(g.nodes) == ["x"]
