"""Mapping rules: versioned YAML, validated by a JSON Schema, compiled into matchers.

Element rules decide the ArchiMate type of each node (and cluster); relationship rules decide the
type of each edge and what to do when ArchiMate forbids it. The highest priority matching rule
wins; ties go to the rule written first. `id`, `label` and `cluster` are regex searches,
`attributes` values must match whole, list-valued conditions match any of their items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from .errors import RulesError

__all__ = [
    "BUILTIN_RULE_SETS",
    "Defaults",
    "EdgeFacts",
    "ElementDecision",
    "NodeFacts",
    "RelationshipDecision",
    "RuleSet",
    "builtin_rules",
    "load_rules",
    "rules_schema",
]

Policy = Literal["derive", "association", "drop", "error"]
BUILTIN_RULE_SETS = ("default", "terraform")
MAX_RULES_BYTES = 1024 * 1024
_MAX_MATCH_LEN = 2000  # values are truncated before regex matching to bound the work per rule


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What a rule can see about a node or a cluster."""

    kind: str  # "node" | "cluster"
    id: str
    label: str
    attrs: Mapping[str, str]
    clusters: tuple[str, ...] = ()  # names and labels of every enclosing cluster
    terraform_type: str = ""
    terraform_kind: str = ""


@dataclass(frozen=True, slots=True)
class EdgeFacts:
    source_type: str
    target_type: str
    label: str
    attrs: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Defaults:
    element: str = "ApplicationComponent"
    cluster_element: str = "Grouping"
    relationship: str = "Flow"
    undirected_relationship: str = "Association"
    membership: str = "Aggregation"
    on_invalid: Policy = "derive"
    clusters: Literal["grouping", "nesting", "ignore"] = "grouping"


@dataclass(frozen=True, slots=True)
class ElementDecision:
    type: str
    rule: str | None  # None: the default applied
    reasons: tuple[str, ...]
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RelationshipDecision:
    type: str
    rule: str | None
    reasons: tuple[str, ...]
    reverse: bool
    on_invalid: Policy
    fallback: tuple[str, ...]


_Cond = Callable[[Any], bool]


def _as_list(v: str | list[str]) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(v)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RulesError(f"invalid regex {pattern!r}: {exc}", where) from None


def _clip(s: str) -> str:
    return s[:_MAX_MATCH_LEN]


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    priority: int
    index: int
    conds: tuple[tuple[str, _Cond], ...]
    payload: Mapping[str, Any]

    def reasons(self, facts: Any) -> tuple[str, ...] | None:
        out = []
        for text, cond in self.conds:
            if not cond(facts):
                return None
            out.append(text)
        return tuple(out) or ("always",)


def _equals(field_name: str, value: str) -> _Cond:
    get = attrgetter(field_name)
    return lambda f: bool(get(f) == value)


def _member(field_name: str, values: frozenset[str]) -> _Cond:
    get = attrgetter(field_name)
    return lambda f: get(f) in values


def _searches(field_name: str, rx: re.Pattern[str]) -> _Cond:
    get = attrgetter(field_name)
    return lambda f: rx.search(_clip(get(f))) is not None


def _any_searches(field_name: str, rx: re.Pattern[str]) -> _Cond:
    get = attrgetter(field_name)
    return lambda f: any(rx.search(_clip(v)) is not None for v in get(f))


def _attribute_matches(key: str, rx: re.Pattern[str]) -> _Cond:
    return lambda f: key in f.attrs and rx.fullmatch(_clip(f.attrs[key])) is not None


def _shape_in(shapes: frozenset[str]) -> _Cond:
    return lambda f: f.attrs.get("shape", "").lower() in shapes


def _starts_with(field_name: str, prefixes: tuple[str, ...]) -> _Cond:
    get = attrgetter(field_name)
    return lambda f: bool(get(f)) and str(get(f)).startswith(prefixes)


def _element_conds(match: Mapping[str, Any], where: str) -> tuple[tuple[str, _Cond], ...]:
    conds: list[tuple[str, _Cond]] = []
    kind = match.get("kind", "node")
    conds.append((f"kind={kind}", _equals("kind", kind)))
    if "id" in match:
        rx = _compile(match["id"], f"{where}.match.id")
        conds.append((f"id~/{rx.pattern}/", _searches("id", rx)))
    if "label" in match:
        rx = _compile(match["label"], f"{where}.match.label")
        conds.append((f"label~/{rx.pattern}/", _searches("label", rx)))
    if "shape" in match:
        shapes = frozenset(s.lower() for s in _as_list(match["shape"]))
        conds.append((f"shape in {sorted(shapes)}", _shape_in(shapes)))
    if "cluster" in match:
        rx = _compile(match["cluster"], f"{where}.match.cluster")
        conds.append((f"cluster~/{rx.pattern}/", _any_searches("clusters", rx)))
    for key, pattern in (match.get("attributes") or {}).items():
        rx = _compile(pattern, f"{where}.match.attributes.{key}")
        conds.append((f"{key}=~/{rx.pattern}/", _attribute_matches(key, rx)))
    if "terraform_type" in match:
        conds.append(("terraform_type listed", _member("terraform_type", frozenset(_as_list(match["terraform_type"])))))
    if "terraform_prefix" in match:
        prefixes = _as_list(match["terraform_prefix"])
        conds.append((f"terraform_prefix in {list(prefixes)}", _starts_with("terraform_type", prefixes)))
    if "terraform_kind" in match:
        kinds = frozenset(_as_list(match["terraform_kind"]))
        conds.append((f"terraform_kind in {sorted(kinds)}", _member("terraform_kind", kinds)))
    return tuple(conds)


def _relationship_conds(match: Mapping[str, Any], where: str) -> tuple[tuple[str, _Cond], ...]:
    conds: list[tuple[str, _Cond]] = []
    if "source" in match:
        src = frozenset(_as_list(match["source"]))
        conds.append((f"source in {sorted(src)}", _member("source_type", src)))
    if "target" in match:
        tgt = frozenset(_as_list(match["target"]))
        conds.append((f"target in {sorted(tgt)}", _member("target_type", tgt)))
    if "label" in match:
        rx = _compile(match["label"], f"{where}.match.label")
        conds.append((f"label~/{rx.pattern}/", _searches("label", rx)))
    for key, pattern in (match.get("attributes") or {}).items():
        rx = _compile(pattern, f"{where}.match.attributes.{key}")
        conds.append((f"{key}=~/{rx.pattern}/", _attribute_matches(key, rx)))
    return tuple(conds)


class RuleSet:
    """A validated, compiled rule set. Immutable: safe to share between requests and threads."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.document = doc
        self.version: int = doc["version"]
        self.name: str = doc["name"]
        self.revision: str = doc.get("revision", "")
        self.defaults = Defaults(**(doc.get("defaults") or {}))
        self._elements = self._build(doc.get("elements") or [], "elements", _element_conds)
        self._relationships = self._build(doc.get("relationships") or [], "relationships", _relationship_conds)

    @staticmethod
    def _build(
        items: list[Mapping[str, Any]],
        section: str,
        conds: Callable[[Mapping[str, Any], str], tuple[tuple[str, _Cond], ...]],
    ) -> tuple[_Rule, ...]:
        seen: set[str] = set()
        rules = []
        for i, item in enumerate(items):
            where = f"{section}[{i}]"
            if item["id"] in seen:
                raise RulesError(f"duplicate rule id {item['id']!r}", where)
            seen.add(item["id"])
            rules.append(_Rule(item["id"], item.get("priority", 0), i, conds(item.get("match") or {}, where), item))
        rules.sort(key=lambda r: (-r.priority, r.index))
        return tuple(rules)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.revision}" if self.revision else self.name

    def element_for(self, facts: NodeFacts) -> ElementDecision:
        for rule in self._elements:
            reasons = rule.reasons(facts)
            if reasons is not None:
                return ElementDecision(rule.payload["element"], rule.id, reasons, rule.payload.get("properties") or {})
        default = self.defaults.cluster_element if facts.kind == "cluster" else self.defaults.element
        return ElementDecision(default, None, ("default",))

    def relationship_for(self, facts: EdgeFacts, directed: bool) -> RelationshipDecision:
        for rule in self._relationships:
            reasons = rule.reasons(facts)
            if reasons is not None:
                p = rule.payload
                return RelationshipDecision(
                    p["relationship"],
                    rule.id,
                    reasons,
                    bool(p.get("reverse", False)),
                    p.get("on_invalid", self.defaults.on_invalid),
                    tuple(p.get("fallback", ())),
                )
        rel = self.defaults.relationship if directed else self.defaults.undirected_relationship
        return RelationshipDecision(rel, None, ("default",), False, self.defaults.on_invalid, ())


@lru_cache(maxsize=1)
def rules_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (resources.files("dot2archimate") / "data" / "rules" / "schema.json").read_text("utf-8")
    )
    return schema


def _schema_errors(doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(rules_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def load_rules(source: str | bytes | Path, *, origin: str = "") -> RuleSet:
    """Parse, validate and compile a rules file; raises `RulesError` naming every problem."""
    if isinstance(source, Path):
        origin = origin or str(source)
        source = source.read_bytes()
    if len(source) > MAX_RULES_BYTES:
        raise RulesError(f"rules file larger than {MAX_RULES_BYTES} bytes", origin)
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise RulesError(f"not valid YAML: {exc}", origin) from None
    errors = _schema_errors(doc)
    if errors:
        raise RulesError("; ".join(errors), origin)
    try:
        return RuleSet(doc)
    except RulesError as exc:
        raise RulesError(str(exc), origin) from None


@lru_cache(maxsize=len(BUILTIN_RULE_SETS))
def builtin_rules(name: str = "default") -> RuleSet:
    """One of the rule sets shipped in the package (`default`, `terraform`)."""
    if name not in BUILTIN_RULE_SETS:
        raise RulesError(f"unknown built-in rule set {name!r} (choose from {', '.join(BUILTIN_RULE_SETS)})")
    path = resources.files("dot2archimate") / "data" / "rules" / f"{name}.yaml"
    return load_rules(path.read_bytes(), origin=f"builtin:{name}")
