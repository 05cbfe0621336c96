"""Map a DOT `Graph` to an ArchiMate `Model` with a `RuleSet`; explain and report every decision.

Pure function of its arguments: no module state, so concurrent requests cannot see each other's
IDs. Relationship types are checked against the ArchiMate 3.2 table; an invalid one is handled by
its rule's policy (derive, association, drop, error) and recorded in the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .archimate.metamodel import RelationshipTable, relationship_table
from .archimate.model import Element, Model, Relationship
from .budget import Deadline
from .dot.graph import Graph, Subgraph
from .dot.labels import display_label
from .errors import RelationshipPolicyError
from .ids import make_id
from .rules import EdgeFacts, NodeFacts, RuleSet

__all__ = [
    "DERIVE_PREFERENCE",
    "PROP_CLUSTER",
    "PROP_DOT_ID",
    "PROP_MEMBERSHIP",
    "PROP_REVERSED",
    "ExplainEntry",
    "Issue",
    "MappingResult",
    "ValidationReport",
    "map_graph",
]

PROP_DOT_ID = "dot:id"
PROP_MEMBERSHIP = "dot:membership"
PROP_CLUSTER = "dot:cluster"
PROP_REVERSED = "dot:reversed"  # the relationship points head -> tail of the DOT edge
#: order tried by the `derive` policy after reversing the edge fails
DERIVE_PREFERENCE = (
    "Serving", "Flow", "Triggering", "Realization", "Assignment", "Aggregation", "Composition",
    "Access", "Influence", "Association",
)  # fmt: skip
_MEMBERSHIP_PREFERENCE = ("Aggregation", "Composition", "Assignment", "Realization", "Association")
_TERRAFORM_PROPS = {
    "tf_address": "terraform:address",
    "tf_type": "terraform:type",
    "tf_kind": "terraform:kind",
}


@dataclass(slots=True)
class ExplainEntry:
    """Why one DOT object became what it became."""

    kind: str  # element | grouping | relationship | membership
    source: str  # DOT node/cluster name, or "tail -> head"
    concept: str | None  # ArchiMate identifier (None when dropped)
    type: str | None
    rule: str | None
    reasons: tuple[str, ...]
    action: str = "mapped"  # mapped | reversed | derived | downgraded | dropped | error

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "concept": self.concept,
            "type": self.type,
            "rule": self.rule,
            "reasons": list(self.reasons),
            "action": self.action,
        }


@dataclass(slots=True)
class Issue:
    severity: str  # error | warning | info
    code: str
    message: str
    subject: str = ""
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "subject": self.subject,
            "rule": self.rule,
        }


@dataclass(slots=True)
class ValidationReport:
    """Machine-readable outcome of a conversion (JSON via `to_dict`)."""

    rules: str
    issues: list[Issue] = field(default_factory=list)
    element_counts: dict[str, int] = field(default_factory=dict)
    relationship_counts: dict[str, int] = field(default_factory=dict)
    xsd: dict[str, Any] = field(default_factory=lambda: {"checked": False, "valid": None, "errors": []})
    layout: list[dict[str, Any]] = field(default_factory=list)
    input: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues) and self.xsd.get("valid") is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "dot2archimate-report",
            "version": 1,
            "valid": self.valid,
            "rules": self.rules,
            "input": self.input,
            "counts": {
                "elements": sum(self.element_counts.values()),
                "relationships": sum(self.relationship_counts.values()),
                "elements_by_type": dict(sorted(self.element_counts.items())),
                "relationships_by_type": dict(sorted(self.relationship_counts.items())),
                "issues": dict(sorted(Counter(i.severity for i in self.issues).items())),
            },
            "issues": [i.to_dict() for i in self.issues],
            "xsd": self.xsd,
            "layout": self.layout,
        }


@dataclass(slots=True)
class MappingResult:
    model: Model
    explain: list[ExplainEntry]
    report: ValidationReport
    #: grouping/container element id -> ids of the elements nested in it on views
    nesting: dict[str, list[str]]
    #: element ids that are top level on views (not nested in a cluster element)
    roots: list[str]
    node_elements: dict[str, str]  # DOT node name -> element id


def _facts_clusters(path: list[Subgraph]) -> tuple[str, ...]:
    out: list[str] = []
    for sg in path:
        out.append(sg.name)
        if sg.attrs.get("label"):
            out.append(sg.attrs["label"])
    return tuple(out)


class _Mapper:
    def __init__(
        self, graph: Graph, rules: RuleSet, table: RelationshipTable, namespace: str, deadline: Deadline
    ) -> None:
        self.g = graph
        self.deadline = deadline
        self.rules = rules
        self.table = table
        self.ns = namespace
        self.model = Model(id=make_id(namespace, "model"), name=graph.name or "Model")
        self.explain: list[ExplainEntry] = []
        self.report = ValidationReport(rules=rules.label)
        self.types: dict[str, str] = {}  # element id -> type
        self.used_ids: set[str] = set()
        self.rel_seen: Counter[tuple[str, str, str]] = Counter()
        self.errors: list[Issue] = []

    def _unique(self, *parts: str) -> str:
        ident = make_id(self.ns, *parts)
        k = 1
        while ident in self.used_ids:
            k += 1
            ident = make_id(self.ns, *parts, str(k))
        self.used_ids.add(ident)
        return ident

    def _element(self, ident: str, etype: str, name: str, doc: str, props: dict[str, str]) -> None:
        self.model.elements.append(Element(ident, etype, name, doc, props))
        self.types[ident] = etype

    def run(self) -> MappingResult:
        g = self.g
        mode = self.rules.defaults.clusters
        forest = g.cluster_forest() if mode != "ignore" else []
        cluster_elem: dict[int, str] = {}
        cluster_path: dict[int, list[Subgraph]] = {}
        nesting: dict[str, list[str]] = {}
        roots: list[str] = []
        owner: dict[str, Subgraph] = {}  # node -> innermost (first) cluster holding it

        for sg, parent in forest:
            path = [*cluster_path.get(id(parent), []), sg] if parent is not None else [sg]
            cluster_path[id(sg)] = path
            label = display_label(sg.attrs.get("label"), sg.name, g.name)
            facts = NodeFacts("cluster", sg.name, label, sg.attrs, _facts_clusters(path[:-1]))
            decision = self.rules.element_for(facts)
            ident = self._unique("cluster", sg.name)
            props = {PROP_DOT_ID: sg.name, PROP_CLUSTER: "true", **decision.properties}
            self._element(ident, decision.type, label, sg.attrs.get("tooltip", ""), props)
            cluster_elem[id(sg)] = ident
            nesting[ident] = []
            self.explain.append(
                ExplainEntry("grouping", sg.name, ident, decision.type, decision.rule, decision.reasons)
            )
            if parent is None:
                roots.append(ident)
            else:
                parent_id = cluster_elem[id(parent)]
                nesting[parent_id].append(ident)
                self._membership(parent_id, ident, f"{parent.name} > {sg.name}")
            for n in sg.nodes:
                cur = owner.get(n)
                # innermost cluster wins; between unrelated clusters the first keeps it (as Graphviz)
                if cur is None or any(p is cur for p in path):
                    owner[n] = sg

        node_elements: dict[str, str] = {}
        member_done: set[tuple[str, str]] = set()
        for index, (name, node) in enumerate(g.nodes.items()):
            if not index & 511:
                self.deadline.check("map")
            attrs = node.attrs
            sg_owner = owner.get(name)
            path = cluster_path.get(id(sg_owner), []) if sg_owner is not None else []
            label = display_label(attrs.get("label"), name, g.name, attrs.get("shape", ""))
            facts = NodeFacts(
                "node",
                name,
                label,
                attrs,
                _facts_clusters(path),
                attrs.get("tf_type", ""),
                attrs.get("tf_kind", ""),
            )
            decision = self.rules.element_for(facts)
            ident = self._unique("node", name)
            props = {PROP_DOT_ID: name}
            for key, prop in _TERRAFORM_PROPS.items():
                if attrs.get(key):
                    props[prop] = attrs[key]
            props.update(decision.properties)
            doc = attrs.get("tooltip") or attrs.get("comment") or ""
            self._element(ident, decision.type, label, doc, props)
            node_elements[name] = ident
            self.explain.append(ExplainEntry("element", name, ident, decision.type, decision.rule, decision.reasons))
            if sg_owner is None:
                roots.append(ident)
            else:
                gid = cluster_elem[id(sg_owner)]
                nesting[gid].append(ident)

        # membership: every cluster aggregates the nodes directly inside it (not via a sub-cluster)
        for sg, _parent in forest:
            gid = cluster_elem[id(sg)]
            inner: set[str] = set()
            for child in _child_clusters(sg):
                inner.update(child.nodes)
            for n in sg.nodes:
                if n not in inner and (gid, n) not in member_done:
                    member_done.add((gid, n))
                    self._membership(gid, node_elements[n], f"{sg.name} > {n}")

        self._edges(node_elements, {sg.name: cluster_elem[id(sg)] for sg, _ in forest})
        for e in self.model.elements:
            self.report.element_counts[e.type] = self.report.element_counts.get(e.type, 0) + 1
        for r in self.model.relationships:
            self.report.relationship_counts[r.type] = self.report.relationship_counts.get(r.type, 0) + 1
        result = MappingResult(self.model, self.explain, self.report, nesting, roots, node_elements)
        if self.errors:
            shown = "; ".join(i.message for i in self.errors[:3])
            more = f" (and {len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
            exc = RelationshipPolicyError(f"invalid relationships: {shown}{more}")
            exc.report = self.report  # type: ignore[attr-defined]
            raise exc
        return result

    def _membership(self, container: str, member: str, subject: str) -> None:
        want = self.rules.defaults.membership
        src, tgt = self.types[container], self.types[member]
        rtype = want if self.table.is_allowed(want, src, tgt) else None
        if rtype is None:
            rtype = next((r for r in _MEMBERSHIP_PREFERENCE if self.table.is_allowed(r, src, tgt)), "Association")
            self.report.issues.append(
                Issue(
                    "info",
                    "membership.derived",
                    f"{want} is not allowed from {src} to {tgt}; used {rtype}",
                    subject,
                )
            )
        ident = self._rel_id(rtype, container, member)
        self.model.relationships.append(Relationship(ident, rtype, container, member, "", {PROP_MEMBERSHIP: "true"}))
        self.explain.append(ExplainEntry("membership", subject, ident, rtype, None, ("cluster contains",)))

    def _rel_id(self, rtype: str, src: str, tgt: str) -> str:
        key = (rtype, src, tgt)
        self.rel_seen[key] += 1
        return self._unique("rel", rtype, src, tgt, str(self.rel_seen[key]))

    def _edges(self, node_elements: dict[str, str], clusters: dict[str, str]) -> None:
        g = self.g
        table = self.table
        for index, edge in enumerate(g.edges):
            if not index & 511:
                self.deadline.check("map")
            src = node_elements[edge.tail]
            tgt = node_elements[edge.head]
            # compound edges (compound=true) point at the cluster itself
            if edge.attrs.get("ltail") in clusters:
                src = clusters[edge.attrs["ltail"]]
            if edge.attrs.get("lhead") in clusters:
                tgt = clusters[edge.attrs["lhead"]]
            subject = f"{edge.tail} -> {edge.head}"
            label = display_label(edge.attrs.get("label"), "", g.name)
            st, tt = self.types[src], self.types[tgt]
            decision = self.rules.relationship_for(EdgeFacts(st, tt, label, edge.attrs), g.directed)
            rtype = decision.type
            reversed_ = decision.reverse
            if reversed_:
                src, tgt, st, tt = tgt, src, tt, st
            action = "mapped"
            if not table.is_allowed(rtype, st, tt):
                policy = decision.on_invalid
                why = f"{rtype} is not allowed from {st} to {tt} in ArchiMate 3.2"
                if policy == "error":
                    issue = Issue("error", "relationship.invalid", f"{subject}: {why}", subject, decision.rule)
                    self.report.issues.append(issue)
                    self.errors.append(issue)
                    self.explain.append(
                        ExplainEntry("relationship", subject, None, rtype, decision.rule, decision.reasons, "error")
                    )
                    continue
                if policy == "drop":
                    self.report.issues.append(
                        Issue("warning", "relationship.dropped", f"{why}; dropped", subject, decision.rule)
                    )
                    self.explain.append(
                        ExplainEntry("relationship", subject, None, rtype, decision.rule, decision.reasons, "dropped")
                    )
                    continue
                if policy == "association":
                    new, action = "Association", "downgraded"
                elif table.is_allowed(rtype, tt, st):
                    new, action = rtype, "reversed"
                    src, tgt, st, tt = tgt, src, tt, st
                    reversed_ = not reversed_
                else:
                    prefs = decision.fallback or DERIVE_PREFERENCE
                    new = next((r for r in prefs if table.is_allowed(r, st, tt)), "Association")
                    action = "derived"
                self.report.issues.append(
                    Issue(
                        "warning",
                        f"relationship.{action}",
                        f"{why}; {action} to {new}" + (" (reversed)" if action == "reversed" else ""),
                        subject,
                        decision.rule,
                    )
                )
                rtype = new
            ident = self._rel_id(rtype, src, tgt)
            props = {PROP_REVERSED: "true"} if reversed_ else {}
            if edge.attrs.get("tooltip"):
                props["dot:tooltip"] = edge.attrs["tooltip"]
            self.model.relationships.append(Relationship(ident, rtype, src, tgt, label, props))
            self.explain.append(
                ExplainEntry("relationship", subject, ident, rtype, decision.rule, decision.reasons, action)
            )


def _child_clusters(sg: Subgraph) -> list[Subgraph]:
    """Nearest clusters below `sg` (looking through plain subgraphs)."""
    out: list[Subgraph] = []
    stack = list(sg.children)
    while stack:
        c = stack.pop()
        if c.is_cluster:
            out.append(c)
        else:
            stack.extend(c.children)
    return out


def map_graph(
    graph: Graph,
    rules: RuleSet,
    *,
    table: RelationshipTable | None = None,
    namespace: str | None = None,
    deadline: Deadline | None = None,
) -> MappingResult:
    """Map `graph`; raises `RelationshipPolicyError` if a rule with `on_invalid: error` fires."""
    ns = namespace if namespace is not None else graph.name
    return _Mapper(graph, rules, table or relationship_table(), ns, deadline or Deadline.unlimited()).run()
