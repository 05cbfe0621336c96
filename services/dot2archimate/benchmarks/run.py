"""dot2archimate benchmark, one run: parse / map / write without layout and with layout on generated
1k, 5k and 20k-node graphs, side by side with pydot parsing (what the original relied on); peak RSS
of a 20k-node conversion; `dot2archimate batch` throughput with 1 and 2 processes.

Run: uv run python services/dot2archimate/benchmarks/run.py [--quick]   (or `make bench`)
Prints one JSON line per measurement while running, then tables with medians and ratios and the
issue's targets: 5k-node convert without layout < 2 s and >= 20x pydot, 20k nodes < 1 GiB peak RSS,
batch throughput scaling with processes. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dot2archimate import ConvertOptions, LayoutOptions, Limits, builtin_rules, convert, map_graph, parse_dot
from dot2archimate.mapping import MappingResult
from dot2archimate.views import add_views
from dot2archimate.writers.exchange import exchange_xml

BIG = Limits.unlimited()
CLI = str(Path(sys.executable).with_name("dot2archimate"))


def generate(nodes: int, edges: int, seed: int = 1) -> str:
    """A DOT graph like real architecture sketches: attributes, clusters of 50, labelled edges."""
    rnd = random.Random(seed)
    shapes = ["box", "ellipse", "cylinder", "component", "box3d", "note"]
    out = ["digraph bench {", "  node [shape=box, fontname=Helvetica];", "  edge [color=gray40];"]
    for c in range(0, nodes, 50):
        out.append(f'  subgraph cluster_{c // 50} {{ label="Zone {c // 50}";')
        for i in range(c, min(c + 50, nodes)):
            out.append(f'    n{i} [label="Service {i}\\nv{rnd.randint(1, 9)}", shape={rnd.choice(shapes)}];')
        out.append("  }")
    for _ in range(edges):
        a, b = rnd.randrange(nodes), rnd.randrange(nodes)
        out.append(f'  n{a} -> n{b} [label="calls"];' if rnd.random() < 0.3 else f"  n{a} -> n{b};")
    out.append("}")
    return "\n".join(out) + "\n"


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def median_wall_and_cpu(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Wall and CPU seconds of this process: CPU is what an idle machine would show (the box is shared)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def peak_rss_mb(text: str) -> float:
    """Peak RSS of a fresh process converting `text` without layout (with XSD validation)."""
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as f:
        f.write(text)
    code = (
        "import resource; from dot2archimate import convert, ConvertOptions, Limits;"
        f"convert(open({f.name!r}).read(), ConvertOptions(layout=None, limits=Limits.unlimited()));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return int(out.stdout.strip()) / 1024


def measure_size(n: int, runs: int, *, layout: bool, pydot: bool) -> dict[str, Any]:
    text = generate(n, 2 * n)
    rules = builtin_rules()
    graph = parse_dot(text, BIG)
    row: dict[str, Any] = {"nodes": n, "edges": 2 * n, "bytes": len(text)}
    row["parse"] = median_time(lambda: parse_dot(text, BIG), runs)
    row["map"] = median_time(lambda: map_graph(graph, rules), runs)
    mapped: MappingResult = map_graph(graph, rules)

    def write() -> bytes:
        add_views(mapped.model, mapped, None, "bench")
        return exchange_xml(mapped.model)

    row["views_and_write"] = median_time(write, runs)
    no_layout = ConvertOptions(layout=None, validate=False, limits=BIG)
    row["convert"], row["convert_cpu"] = median_wall_and_cpu(lambda: convert(text, no_layout), runs)
    row["convert_xsd"] = median_time(lambda: convert(text, ConvertOptions(layout=None, limits=BIG)), 1)
    if layout:
        opts = ConvertOptions(layout=LayoutOptions(timeout_s=20, workers=2), validate=False, limits=BIG)
        started = time.perf_counter()
        laid_out = convert(text, opts)
        row["convert_layout"] = time.perf_counter() - started
        row["views"] = len(laid_out.model.views)
        row["engines"] = dict(sorted(_count(v.engine for v in laid_out.model.views).items()))
    if pydot:
        import pydot as pydot_module

        row["pydot_parse"] = median_time(lambda: pydot_module.graph_from_dot_data(text), 1)
        row["pydot_x_parse"] = row["pydot_parse"] / row["parse"]
        row["pydot_x_convert"] = row["pydot_parse"] / row["convert"]
    return row


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_batch(files: int, nodes: int, runs: int) -> dict[str, Any]:
    """The real `dot2archimate batch` command (process start-up included), 1 vs 2 processes."""
    result: dict[str, Any] = {"files": files, "nodes_per_file": nodes}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(files):
            (src / f"g{i:03d}.dot").write_text(generate(nodes, 2 * nodes, seed=i))
        for jobs in (1, 2):
            walls, cpus = [], []
            for k in range(runs):
                cpu = _children_cpu()
                started = time.perf_counter()
                out = Path(tmp) / f"out{jobs}-{k}"
                proc = subprocess.run([CLI, "batch", str(src), "-o", str(out), "-j", str(jobs), "--no-layout",
                                       "--validate", "--no-progress"], capture_output=True, check=False)  # fmt: skip
                walls.append(time.perf_counter() - started)
                cpus.append(_children_cpu() - cpu)
                if proc.returncode != 0:
                    raise SystemExit(f"batch failed: {proc.stderr.decode()[-2000:]}")
            result[f"wall_{jobs}"] = statistics.median(walls)
            result[f"cpu_{jobs}"] = statistics.median(cpus)
    result["speedup"] = result["wall_1"] / result["wall_2"]
    result["cpu_overhead"] = result["cpu_2"] / result["cpu_1"]  # extra CPU the second process costs
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one run each, pydot on 1k only, no 20k layout, small batch")
    args = ap.parse_args()
    runs = 1 if args.quick else 3
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for n in (1000, 5000, 20000):
        row = measure_size(n, runs, layout=not (args.quick and n > 5000), pydot=n <= (1000 if args.quick else 5000))
        if n == 20000:
            row["peak_rss_mb"] = peak_rss_mb(generate(n, 2 * n))
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    batch = measure_batch(12 if args.quick else 40, 400, 1 if args.quick else 3)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in batch.items()}), flush=True)

    nan = float("nan")
    print("\nseconds (median); convert = parse + map + views + write XML, no layout; +xsd adds validation")
    print(f"{'nodes':>6} {'parse':>7} {'map':>7} {'write':>7} {'convert':>8} {'(CPU)':>7} {'+xsd':>7} {'layout':>8} "
          f"{'views':>6} {'pydot':>8} {'x parse':>8} {'x conv':>7}")  # fmt: skip
    for r in rows:
        print(
            f"{r['nodes']:>6} {r['parse']:>7.3f} {r['map']:>7.3f} {r['views_and_write']:>7.3f} {r['convert']:>8.3f} "
            f"{r['convert_cpu']:>7.3f} {r['convert_xsd']:>7.3f} {r.get('convert_layout', nan):>8.2f} "
            f"{r.get('views', 0):>6} "
            f"{r.get('pydot_parse', nan):>8.2f} {r.get('pydot_x_parse', nan):>8.1f} "
            f"{r.get('pydot_x_convert', nan):>7.1f}"
        )
    print(f"\nbatch {batch['files']} files x {batch['nodes_per_file']} nodes (CLI, --validate, no layout): "
          f"1 process {batch['wall_1']:.2f} s ({batch['cpu_1']:.2f} s CPU), 2 processes {batch['wall_2']:.2f} s "
          f"({batch['cpu_2']:.2f} s CPU): speed-up {batch['speedup']:.2f}x, "
          f"CPU x{batch['cpu_overhead']:.2f}")  # fmt: skip

    five = rows[1]
    twenty = rows[2]
    targets = [
        (
            "5k-node convert without layout < 2 s",
            five["convert"] < 2.0,
            f"{five['convert']:.2f} s wall, {five['convert_cpu']:.2f} s CPU",
        ),
        (">= 20x pydot on 5k nodes", five.get("pydot_x_convert", 0) >= 20, f"{five.get('pydot_x_convert', nan):.1f}x"),
        ("20k nodes peak RSS < 1 GiB", twenty["peak_rss_mb"] < 1024, f"{twenty['peak_rss_mb']:.0f} MB"),
        ("batch scales with processes (>= 1.5x on 2)", batch["speedup"] >= 1.5, f"{batch['speedup']:.2f}x"),
    ]
    print("\ntargets (a busy machine fails the timing ones; CPU x near 1.0 means the work itself parallelises):")
    for name, ok, value in targets:
        verdict = "SKIP" if value.startswith("nan") else "PASS" if ok else "FAIL"
        print(f"  {verdict}  {name}: {'not measured (--quick)' if verdict == 'SKIP' else value}")


if __name__ == "__main__":
    main()
