"""Rules files: schema validation, compilation errors, priorities and explain reasons."""

from __future__ import annotations

import pytest
from dot2archimate.errors import RulesError
from dot2archimate.rules import EdgeFacts, NodeFacts, builtin_rules, load_rules, rules_schema

RULES = """
version: 1
name: test
revision: "3"
defaults: {element: Node, relationship: Serving, on_invalid: drop}
elements:
  - {id: low, priority: 1, match: {id: "^svc"}, element: SystemSoftware}
  - {id: high, priority: 10, match: {id: "^svc", attributes: {color: "red|blue"}}, element: Device}
  - {id: tie-first, priority: 5, match: {shape: box}, element: Artifact}
  - {id: tie-second, priority: 5, match: {shape: box}, element: Equipment}
  - {id: in-cluster, priority: 3, match: {cluster: "(?i)backend"}, element: ApplicationComponent}
  - {id: tf, priority: 3, match: {terraform_prefix: [aws_], terraform_kind: resource}, element: Facility}
  - {id: clusters, match: {kind: cluster, label: "^Zone"}, element: Location}
relationships:
  - {id: dashed, match: {attributes: {style: dashed}, source: [Node]}, relationship: Flow, reverse: true}
"""


def node(name: str, **kw: object) -> NodeFacts:
    return NodeFacts(
        str(kw.get("kind", "node")),
        name,
        str(kw.get("label", name)),
        dict(kw.get("attrs", {})),  # type: ignore[call-overload]
        tuple(kw.get("clusters", ())),  # type: ignore[call-overload]
        str(kw.get("tf_type", "")),
        str(kw.get("tf_kind", "")),
    )


def test_priority_then_file_order_decides() -> None:
    rs = load_rules(RULES)
    assert rs.label == "test@3"
    assert rs.element_for(node("svc1", attrs={"color": "red"})).rule == "high"
    assert rs.element_for(node("svc1", attrs={"color": "green"})).rule == "low"  # fullmatch, not search
    assert rs.element_for(node("x", attrs={"shape": "box"})).type == "Artifact"  # tie: first written wins
    d = rs.element_for(node("plain"))
    assert (d.type, d.rule, d.reasons) == ("Node", None, ("default",))


def test_cluster_terraform_and_kind_conditions() -> None:
    rs = load_rules(RULES)
    assert rs.element_for(node("a", clusters=("cluster_1", "Backend tier"))).rule == "in-cluster"
    assert rs.element_for(node("a", tf_type="aws_vpc", tf_kind="resource")).type == "Facility"
    assert rs.element_for(node("a", tf_type="aws_vpc", tf_kind="data")).rule is None
    assert rs.element_for(node("cluster_z", kind="cluster", label="Zone A")).type == "Location"
    assert rs.element_for(node("cluster_z", kind="cluster", label="Other")).type == "Grouping"  # default


def test_explain_reasons_name_each_condition() -> None:
    d = load_rules(RULES).element_for(node("svc", attrs={"color": "blue"}))
    assert d.reasons == ("kind=node", "id~/^svc/", "color=~/red|blue/")


def test_relationship_rule_and_defaults() -> None:
    rs = load_rules(RULES)
    d = rs.relationship_for(EdgeFacts("Node", "Node", "", {"style": "dashed"}), directed=True)
    assert (d.type, d.reverse, d.on_invalid, d.rule) == ("Flow", True, "drop", "dashed")
    d = rs.relationship_for(EdgeFacts("Device", "Node", "", {}), directed=False)
    assert (d.type, d.rule) == ("Association", None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 2\nname: x", "version: 1 was expected"),
        ("version: 1", "'name' is a required property"),
        ("version: 1\nname: x\nelements: [{id: a, element: Cloud}]", "elements/0/element"),
        (
            "version: 1\nname: x\nelements: [{id: a, element: Node, match: {colour: red}}]",
            "Additional properties",
        ),
        ("version: 1\nname: x\nrelationships: [{id: a, relationship: Uses}]", "relationships/0/relationship"),
        ("version: 1\nname: x\ndefaults: {on_invalid: ignore}", "defaults/on_invalid"),
        (
            "version: 1\nname: x\nelements: [{id: a, element: Node, match: {id: '(unclosed'}}]",
            "invalid regex",
        ),
        (
            "version: 1\nname: x\nelements: [{id: a, element: Node}, {id: a, element: Device}]",
            "duplicate rule id",
        ),
        ("version: [1\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['true']", "not valid YAML"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(RulesError, match=None) as info:
        load_rules(text, origin="r.yaml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("r.yaml: ")


def test_builtin_rule_sets_validate_and_schema_is_versioned() -> None:
    assert builtin_rules("default").version == 1
    tf = builtin_rules("terraform")
    assert tf.element_for(node("x", tf_type="kubernetes_deployment", tf_kind="resource")).type == "SystemSoftware"
    assert tf.element_for(node("x", tf_type="google_compute_network", tf_kind="resource")).type == (
        "CommunicationNetwork"
    )
    assert tf.element_for(node("x", tf_type="azurerm_something_new", tf_kind="resource")).rule == (
        "other-cloud-resource"
    )
    assert rules_schema()["properties"]["version"] == {"const": 1, "description": "rules file format version"}
    with pytest.raises(RulesError, match="unknown built-in"):
        builtin_rules("nope")
