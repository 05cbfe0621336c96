"""View layout by Graphviz, run as a sandboxed subprocess, with fallbacks that always succeed.

Graphviz only ever sees a DOT text we generate ourselves: opaque node names (`n0`, `cluster_1`),
fixed sizes, no labels and no user attribute, so it can never be told to read a file. It still
runs with CPU, address-space and file-size limits and a wall-clock timeout; on timeout or failure
the fallback engine (sfdp) is tried, then a deterministic built-in grid packer.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from .budget import Deadline
from .errors import LayoutError

__all__ = [
    "ENGINES",
    "LayoutOptions",
    "Placement",
    "ViewSpec",
    "layout_view",
    "run_graphviz",
]

#: engines we are willing to execute (never a user-supplied path)
ENGINES = frozenset({"dot", "neato", "fdp", "sfdp", "circo", "twopi", "osage", "patchwork"})
_HEADER = 24  # room for a grouping's name above its content
_PAD = 16


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    engine: str = "dot"
    fallback_engine: str | None = "sfdp"
    timeout_s: float = 20.0
    memory_mb: int = 1024
    node_width: int = 120
    node_height: int = 55
    margin: int = 20
    rankdir: str = "TB"
    workers: int = 2

    def __post_init__(self) -> None:
        for engine in (self.engine, self.fallback_engine):
            if engine is not None and engine not in ENGINES:
                raise ValueError(f"unknown Graphviz engine {engine!r}; choose from {sorted(ENGINES)}")
        if self.rankdir not in ("TB", "LR", "BT", "RL"):
            raise ValueError("rankdir must be TB, LR, BT or RL")


@dataclass(slots=True)
class ViewSpec:
    """What one view shows: element ids, their nesting, and the relationships to draw."""

    name: str
    roots: list[str]
    nesting: dict[str, list[str]]
    edges: list[tuple[str, str, str]]  # (relationship id, source element id, target element id)

    def containers(self) -> set[str]:
        return {k for k, v in self.nesting.items() if v}


@dataclass(slots=True)
class Placement:
    bounds: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # absolute x, y, w, h
    bendpoints: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    engine: str = ""
    notes: list[str] = field(default_factory=list)


def _limits(cpu_s: int, memory_bytes: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file writes (stdout is a pipe)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_graphviz(dot_text: str, engine: str, output_format: str, timeout_s: float, memory_mb: int) -> bytes:
    """Run one Graphviz engine on `dot_text` with limits; raises `LayoutError` or TimeoutExpired."""
    if engine not in ENGINES:
        raise LayoutError(f"engine {engine!r} not allowed")
    exe = shutil.which(engine)
    if exe is None:
        raise LayoutError(f"Graphviz engine {engine!r} not installed")
    with tempfile.TemporaryDirectory(prefix="d2a-gv-") as empty:
        env = {"PATH": os.defpath, "GV_FILE_PATH": empty, "SERVER_NAME": "dot2archimate", "LC_ALL": "C"}
        proc = subprocess.run(  # noqa: S603  # fixed executable from ENGINES, no shell
            [exe, f"-T{output_format}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout_s,
            env=env,
            cwd=empty,
            preexec_fn=_limits(math.ceil(timeout_s) + 1, memory_mb * 1024 * 1024),
            check=False,
        )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LayoutError(f"{engine} failed (exit {proc.returncode}): {err[-1] if err else 'no message'}")
    return proc.stdout


def _layout_dot(spec: ViewSpec, opts: LayoutOptions, engine: str) -> tuple[str, dict[str, str]]:
    """Our own DOT for the view; returns it and the map from Graphviz names to element ids."""
    names: dict[str, str] = {}
    w_in = opts.node_width / 72
    h_in = opts.node_height / 72
    # spline routing around obstacles is what makes sfdp/neato slow on big graphs: straight lines there
    splines = "true" if engine == "dot" else "false"
    lines = [
        "digraph L {",
        f"graph [rankdir={opts.rankdir}, nodesep=0.5, ranksep=0.7, splines={splines}, "
        "outputorder=edgesfirst, overlap=prism, start=1, pad=0];",
        f'node [shape=box, fixedsize=true, width={w_in:.4f}, height={h_in:.4f}, label=""];',
    ]
    containers = spec.containers()
    counter = [0, 0]

    def emit(ident: str, indent: str) -> None:
        if ident in containers:
            cname = f"cluster_{counter[1]}"
            counter[1] += 1
            names[cname] = ident
            lines.append(f'{indent}subgraph {cname} {{ label="G"; fontsize=14; margin={_PAD};')
            for child in spec.nesting[ident]:
                emit(child, indent + "  ")
            lines.append(f"{indent}}}")
        else:
            nname = f"n{counter[0]}"
            counter[0] += 1
            names[nname] = ident
            names[ident] = nname
            lines.append(f"{indent}{nname};")

    for root in spec.roots:
        emit(root, "  ")
    for k, (_rel, src, tgt) in enumerate(spec.edges):
        if src in containers or tgt in containers:
            continue  # Graphviz cannot route to a cluster; Archi draws these straight
        lines.append(f'  {names[src]} -> {names[tgt]} [id="e{k}"];')
    lines.append("}")
    return "\n".join(lines), names


def _points(pos: str) -> list[tuple[float, float]]:
    pts = []
    for part in pos.split():
        if part.startswith(("e,", "s,")):
            continue
        x, y = part.split(",")[:2]
        pts.append((float(x), float(y)))
    return pts


def _from_graphviz(spec: ViewSpec, opts: LayoutOptions, engine: str, timeout_s: float) -> Placement:
    text, names = _layout_dot(spec, opts, engine)
    out = json.loads(run_graphviz(text, engine, "json0", timeout_s, opts.memory_mb))
    bb = [float(v) for v in out.get("bb", "0,0,0,0").split(",")]
    height = bb[3]
    m = opts.margin

    def tx(x: float, y: float) -> tuple[int, int]:
        return round(x - bb[0]) + m, round(height - y) + m

    placement = Placement(engine=engine)
    for obj in out.get("objects", []):
        ident = names.get(obj.get("name", ""))
        if ident is None:
            continue
        if "pos" in obj:
            cx, cy = (float(v) for v in obj["pos"].split(",")[:2])
            x, y = tx(cx, cy)
            placement.bounds[ident] = (x - opts.node_width // 2, y - opts.node_height // 2,
                                       opts.node_width, opts.node_height)  # fmt: skip
        elif "bb" in obj:
            llx, lly, urx, ury = (float(v) for v in obj["bb"].split(","))
            x, y = tx(llx, ury)
            placement.bounds[ident] = (x, y, max(1, round(urx - llx)), max(1, round(ury - lly)))
    for edge in out.get("edges", []):
        eid = edge.get("id", "")
        if not eid.startswith("e") or "pos" not in edge:
            continue
        rel = spec.edges[int(eid[1:])][0]
        pts = _points(edge["pos"])
        on_curve = pts[3:-1:3] if len(pts) > 4 else []  # interior points the B-spline passes through
        placement.bendpoints[rel] = [tx(x, y) for x, y in on_curve]
    _enclose_groupings(spec, placement)
    return placement


def _enclose_groupings(spec: ViewSpec, placement: Placement) -> None:
    """Groupings without Graphviz cluster boxes (sfdp, or empty) get the hull of their content."""

    def visit(ident: str) -> tuple[int, int, int, int] | None:
        own = placement.bounds.get(ident)
        children = spec.nesting.get(ident, [])
        boxes = [b for b in (visit(c) for c in children) if b is not None]
        if not boxes or (own is not None and _contains(own, boxes)):
            return own
        x0 = min(b[0] for b in boxes) - _PAD
        y0 = min(b[1] for b in boxes) - _PAD - _HEADER
        x1 = max(b[0] + b[2] for b in boxes) + _PAD
        y1 = max(b[1] + b[3] for b in boxes) + _PAD
        placement.bounds[ident] = (x0, y0, x1 - x0, y1 - y0)
        return placement.bounds[ident]

    for root in spec.roots:
        visit(root)
    # shift everything so the smallest coordinate is the margin (XSD: non-negative integers)
    if placement.bounds:
        dx = min(0, *(b[0] for b in placement.bounds.values()))
        dy = min(0, *(b[1] for b in placement.bounds.values()))
        if dx < 0 or dy < 0:
            placement.bounds = {k: (x - dx, y - dy, w, h) for k, (x, y, w, h) in placement.bounds.items()}
            placement.bendpoints = {k: [(x - dx, y - dy) for x, y in v] for k, v in placement.bendpoints.items()}


def _contains(outer: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    ox, oy, ow, oh = outer
    return all(ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh for x, y, w, h in boxes)


def grid_layout(spec: ViewSpec, opts: LayoutOptions) -> Placement:
    """Deterministic nested packing: never fails, used when every Graphviz engine did."""
    placement = Placement(engine="grid")
    gap = 30

    def size(ident: str) -> tuple[int, int]:
        children = spec.nesting.get(ident, [])
        if not children:
            return opts.node_width, opts.node_height
        sizes = [size(c) for c in children]
        cols = max(1, math.ceil(math.sqrt(len(children))))
        rows = [sizes[i : i + cols] for i in range(0, len(sizes), cols)]
        w = max(sum(s[0] for s in row) + gap * (len(row) - 1) for row in rows)
        h = sum(max(s[1] for s in row) for row in rows) + gap * (len(rows) - 1)
        return w + 2 * _PAD, h + 2 * _PAD + _HEADER

    def place(ident: str, x: int, y: int) -> tuple[int, int]:
        w, h = size(ident)
        placement.bounds[ident] = (x, y, w, h)
        children = spec.nesting.get(ident, [])
        if children:
            place_all(children, x + _PAD, y + _PAD + _HEADER)
        return w, h

    def place_all(items: list[str], x0: int, y0: int) -> None:
        cols = max(1, math.ceil(math.sqrt(len(items))))
        y = y0
        for i in range(0, len(items), cols):
            x = x0
            row_h = 0
            for ident in items[i : i + cols]:
                w, h = place(ident, x, y)
                x += w + gap
                row_h = max(row_h, h)
            y += row_h + gap

    place_all(spec.roots, opts.margin, opts.margin)
    return placement


def layout_view(spec: ViewSpec, opts: LayoutOptions, deadline: Deadline | None = None) -> Placement:
    """Lay out one view: the configured engine, then the fallback engine, then the grid packer.

    Each Graphviz run gets at most what is left of the conversion's `deadline`; once that is spent
    the conversion stops (`TimeBudgetExceededError`) instead of falling back.
    """
    budget = deadline or Deadline.unlimited()
    notes: list[str] = []
    for engine in (opts.engine, opts.fallback_engine):
        if engine is None:
            continue
        budget.check("layout")
        timeout_s = min(opts.timeout_s, budget.remaining())
        try:
            placement = _from_graphviz(spec, opts, engine, timeout_s)
        except subprocess.TimeoutExpired:
            budget.check("layout")
            notes.append(f"{engine}: timed out after {opts.timeout_s:g} s")
            continue
        except (LayoutError, ValueError, KeyError) as exc:
            notes.append(f"{engine}: {exc}")
            continue
        placement.notes = notes
        return placement
    placement = grid_layout(spec, opts)
    placement.notes = notes
    return placement
