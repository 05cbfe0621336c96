"""Benchmark: parse / map / write XML (no layout) and with layout, side by side with pydot parsing.

Run: uv run python services/dot2archimate/benchmarks/bench_convert.py [--quick]
Prints medians (seconds) and ratios; one run, not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dot2archimate import ConvertOptions, LayoutOptions, builtin_rules, convert, map_graph, parse_dot
from dot2archimate.batch import BatchJob, run_batch
from dot2archimate.views import add_views
from dot2archimate.writers.exchange import exchange_xml


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


def peak_rss_mb(text: str) -> float:
    """Peak RSS of a fresh process converting `text` without layout."""
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as f:
        f.write(text)
    code = (
        "import resource, sys; from dot2archimate import convert, ConvertOptions;"
        f"convert(open({f.name!r}).read(), ConvertOptions(layout=None, validate=False));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return int(out.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs, skip pydot on 5k")
    args = ap.parse_args()
    runs = 1 if args.quick else 3
    rules = builtin_rules()
    rows = []
    for n in (1000, 5000, 20000):
        text = generate(n, 2 * n)
        g = parse_dot(text)
        parse_s = median_time(lambda t=text: parse_dot(t), runs)
        map_s = median_time(lambda g=g: map_graph(g, rules), runs)
        res = map_graph(g, rules)

        def write(res: object = res) -> bytes:
            add_views(res.model, res, None, "bench")  # type: ignore[attr-defined]
            return exchange_xml(res.model)  # type: ignore[attr-defined]

        write_s = median_time(write, runs)
        no_layout = ConvertOptions(layout=None, validate=False)
        total_s = median_time(lambda t=text, o=no_layout: convert(t, o), runs)
        validate_s = median_time(lambda t=text: convert(t, ConvertOptions(layout=None, validate=True)), 1)
        row = {"nodes": n, "edges": 2 * n, "parse": parse_s, "map": map_s, "write_xml": write_s,
               "convert_no_layout": total_s, "convert_no_layout_validate": validate_s}  # fmt: skip
        if n <= 5000:
            layout = ConvertOptions(layout=LayoutOptions(timeout_s=20, workers=2), validate=False)
            t = time.perf_counter()
            r = convert(text, layout)
            row["convert_with_layout"] = time.perf_counter() - t
            row["views"] = len(r.model.views)
            row["engines"] = sorted({v.engine for v in r.model.views})
        if n <= (1000 if args.quick else 5000):
            import pydot

            row["pydot_parse"] = median_time(lambda t=text: pydot.graph_from_dot_data(t), 1)
            row["pydot_over_ours_parse"] = row["pydot_parse"] / parse_s
            row["pydot_over_ours_convert"] = row["pydot_parse"] / total_s
        row["peak_rss_mb"] = peak_rss_mb(text)
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    # batch throughput: 16 files x 500 nodes, 1 vs 2 processes
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(16):
            (src / f"g{i}.dot").write_text(generate(500, 1000, seed=i))
        files = sorted(src.glob("*.dot"))
        batch = {}
        for jobs in (1, 2):
            job = BatchJob(layout=None, validate=False)
            t = time.perf_counter()
            summary = run_batch(files, Path(tmp) / f"out{jobs}", job, jobs=jobs)
            batch[jobs] = time.perf_counter() - t
            assert summary.failed == 0
    print()
    print(f"{'nodes':>6} {'parse':>7} {'map':>7} {'write':>7} {'convert':>8} {'+xsd':>7} {'layout':>8} "
          f"{'pydot':>8} {'ratio':>6} {'RSS MB':>7}")  # fmt: skip
    for r in rows:
        print(
            f"{r['nodes']:>6} {r['parse']:>7.3f} {r['map']:>7.3f} {r['write_xml']:>7.3f} "
            f"{r['convert_no_layout']:>8.3f} {r['convert_no_layout_validate']:>7.3f} "
            f"{r.get('convert_with_layout', float('nan')):>8.2f} {r.get('pydot_parse', float('nan')):>8.2f} "
            f"{r.get('pydot_over_ours_convert', float('nan')):>6.1f} {r['peak_rss_mb']:>7.0f}"
        )
    print(f"batch 16 x 500 nodes (no layout): 1 process {batch[1]:.2f} s, 2 processes {batch[2]:.2f} s, "
          f"speed-up {batch[1] / batch[2]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
