"""`terraform graph` output in all three formats, normalised to one DOT `Graph`.

* legacy (< 0.13): `[root] aws_instance.web`, `[root] provider.aws`, `meta.count-boundary ...`
* 0.13 - 1.6 (and `terraform graph -type=...` today): `[root] aws_instance.web (expand)`,
  `[root] provider["registry.terraform.io/hashicorp/aws"]`, `(close)` nodes
* >= 1.7: bare addresses, resources and data sources only, one `cluster_module.x` per module

The result has one node per resource, data source and provider (variables, locals and outputs on
request), named by address, with `tf_kind`, `tf_type`, `tf_module`, `tf_address` attributes and
a nested cluster per module. Dropped nodes (close/expand bookkeeping, variables...) are contracted:
A -> var.x -> B becomes A -> B, so 1.7's simplified edges and the older full graph agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .dot.graph import Edge, Graph, Node, Subgraph
from .errors import TerraformGraphError

__all__ = ["TerraformAddress", "TerraformFormat", "detect_format", "normalize_terraform", "parse_address"]


class TerraformFormat(StrEnum):
    LEGACY = "legacy"  # terraform < 0.13
    V013 = "0.13-1.6"
    V17 = "1.7+"


@dataclass(frozen=True, slots=True)
class TerraformAddress:
    kind: str  # resource | data | provider | module | variable | local | output
    module: tuple[str, ...]  # ("module.a", "module.b")
    type: str  # resource/data type, provider name, or variable name
    name: str

    @property
    def module_path(self) -> str:
        return ".".join(self.module)

    @property
    def address(self) -> str:
        return ".".join((*self.module, self.local))

    @property
    def local(self) -> str:
        if self.kind == "resource":
            return f"{self.type}.{self.name}"
        if self.kind == "data":
            return f"data.{self.type}.{self.name}"
        if self.kind == "provider":
            return self.name
        if self.kind == "module":
            return ""
        prefix = {"variable": "var", "local": "local", "output": "output"}[self.kind]
        return f"{prefix}.{self.name}"


_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_KEY = r'(?:\[(?:"(?:[^"\\]|\\.)*"|[0-9]+|\*)\])?'
_MODULE_RE = re.compile(rf"module\.({_NAME}){_KEY}\.?")
_SUFFIX_RE = re.compile(r"\s+\((?:expand|close|destroy|destroy deposed [^)]*|prepare state|orphan|"
                        r"EachMode fixup|plannable|apply)\)$")  # fmt: skip
_PROVIDER_NEW_RE = re.compile(r'provider\["((?:[^"\\]|\\.)*)"\](?:\.(' + _NAME + "))?$")
_PROVIDER_OLD_RE = re.compile(rf"provider\.({_NAME})(?:\.({_NAME}))?$")
_DATA_RE = re.compile(rf"data\.({_NAME})\.({_NAME}){_KEY}$")
_VAR_RE = re.compile(rf"(var|local|output)\.({_NAME})$")
_RESOURCE_RE = re.compile(rf"({_NAME})\.({_NAME}){_KEY}$")
_ROOT_PREFIX = "[root] "


def _strip(name: str) -> tuple[str, bool]:
    """Address without `[root] ` and state suffixes; flag True when it is a bookkeeping node."""
    if name.startswith(_ROOT_PREFIX):
        name = name[len(_ROOT_PREFIX) :]
    bookkeeping = False
    while True:
        m = _SUFFIX_RE.search(name)
        if m is None:
            break
        if m.group(0).strip() not in ("(expand)",):
            bookkeeping = True
        name = name[: m.start()]
    return name, bookkeeping


def parse_address(raw: str) -> TerraformAddress | None:
    """Parse a node name from any format; None for bookkeeping nodes (root, close, meta...)."""
    text, bookkeeping = _strip(raw)
    if bookkeeping or text in ("root", "") or text.startswith("meta."):
        return None
    modules: list[str] = []
    pos = 0
    while True:
        m = _MODULE_RE.match(text, pos)
        if m is None:
            break
        modules.append(f"module.{m.group(1)}")
        pos = m.end()
    rest = text[pos:]
    mod = tuple(modules)
    if not rest:
        return TerraformAddress("module", mod, "", modules[-1]) if modules else None
    if m := _PROVIDER_NEW_RE.match(rest):
        ptype = m.group(1).rsplit("/", 1)[-1]
        return TerraformAddress("provider", mod, ptype, rest)
    if m := _PROVIDER_OLD_RE.match(rest):
        return TerraformAddress("provider", mod, m.group(1), rest)
    if m := _DATA_RE.match(rest):
        return TerraformAddress("data", mod, m.group(1), m.group(2))
    if m := _VAR_RE.match(rest):
        kind = {"var": "variable", "local": "local", "output": "output"}[m.group(1)]
        return TerraformAddress(kind, mod, "", m.group(2))
    if m := _RESOURCE_RE.match(rest):
        return TerraformAddress("resource", mod, m.group(1), m.group(2))
    return None


def detect_format(graph: Graph) -> TerraformFormat | None:
    """Which `terraform graph` format this is, or None when it does not look like one."""
    names = list(graph.nodes)
    if not names:
        return None
    rooted = [n for n in names if n.startswith(_ROOT_PREFIX)]
    if rooted:
        if len(rooted) < len(names) // 2:
            return None
        if any('provider["' in n or n.endswith(" (expand)") for n in rooted):
            return TerraformFormat.V013
        return TerraformFormat.LEGACY
    parsed = [parse_address(n) for n in names]
    good = [a for a in parsed if a is not None and a.kind in ("resource", "data")]
    if len(good) == len(names) and all("_" in a.type for a in good):
        # bare addresses only: 1.7+ shows resources and data sources, nothing else
        return TerraformFormat.V17
    return None


def normalize_terraform(
    graph: Graph, *, include_variables: bool = False, include_providers: bool = True
) -> tuple[Graph, TerraformFormat]:
    fmt = detect_format(graph)
    if fmt is None:
        raise TerraformGraphError("input does not look like `terraform graph` output")
    keep_kinds = {"resource", "data"}
    if include_providers:
        keep_kinds.add("provider")
    if include_variables:
        keep_kinds |= {"variable", "local", "output"}

    kept: dict[str, TerraformAddress] = {}
    for name in graph.nodes:
        addr = parse_address(name)
        if addr is not None and addr.kind in keep_kinds:
            kept[name] = addr

    succ: dict[str, list[str]] = {}
    for e in graph.edges:
        succ.setdefault(e.tail, []).append(e.head)
    memo: dict[str, frozenset[str]] = {}

    def reach(start: str) -> frozenset[str]:
        """Kept nodes reachable from a dropped node through dropped nodes only (iterative DFS)."""
        if start in memo:
            return memo[start]
        found: set[str] = set()
        seen = {start}
        stack = [start]
        while stack:
            cur = stack.pop()
            for nxt in succ.get(cur, ()):
                if nxt in kept:
                    found.add(nxt)
                elif nxt in memo:
                    found |= memo[nxt]
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        memo[start] = frozenset(found)
        return memo[start]

    out = Graph(name=graph.name or "terraform", directed=True, strict=False)
    out.attrs["tf_format"] = fmt.value
    canonical = {name: addr.address for name, addr in kept.items()}
    for addr in kept.values():
        attrs = {
            "label": addr.local or addr.address,
            "tf_kind": addr.kind,
            "tf_type": addr.type,
            "tf_module": addr.module_path,
            "tf_address": addr.address,
        }
        out.nodes.setdefault(addr.address, Node(addr.address, attrs))

    pairs: dict[tuple[str, str], None] = {}
    for tail in kept:
        targets: set[str] = set()
        for head in succ.get(tail, ()):
            if head in kept:
                targets.add(head)
            else:
                targets |= reach(head)
        for head in sorted(targets, key=lambda h: canonical[h]):
            t, h = canonical[tail], canonical[head]
            if t != h:
                pairs[(t, h)] = None
    out.edges = [Edge(t, h, {}) for t, h in pairs]

    clusters: dict[tuple[str, ...], Subgraph] = {}
    for node in out.nodes.values():
        mod = kept_addr_module(node)
        for depth in range(1, len(mod) + 1):
            path = mod[:depth]
            sg = clusters.get(path)
            if sg is None:
                sg = Subgraph(f"cluster_{'.'.join(path)}", {"label": ".".join(path)})
                clusters[path] = sg
                parent = clusters.get(path[:-1])
                (parent.children if parent is not None else out.subgraphs).append(sg)
            sg.nodes[node.name] = None
    return out, fmt


def kept_addr_module(node: Node) -> tuple[str, ...]:
    path = node.attrs.get("tf_module", "")
    if not path:
        return ()
    return tuple(f"module.{m}" for m in _MODULE_RE.findall(path + "."))
