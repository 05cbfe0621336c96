"""Convert a directory of graphs in parallel processes; one failure never stops the others.

Throughput scales with processes because nothing is paid per file that can be paid once: the
parent builds the parser tables, rule sets, relationship table and XSD schema before it forks the
workers (they inherit them), a worker started any other way builds them once in its initializer,
and the largest files are handed out first so no worker is left with a long tail.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from .convert import ConvertOptions, convert
from .errors import Dot2ArchimateError
from .layout import LayoutOptions
from .limits import Limits
from .rules import RuleSet, builtin_rules, load_rules
from .views import DEFAULT_MAX_VIEW_NODES

__all__ = ["BatchJob", "BatchSummary", "run_batch", "safe_stem", "warm_up"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(path: Path) -> str:
    """Output base name from an input name: no separators, no dot-files, bounded length."""
    stem = _UNSAFE.sub("_", path.stem).strip("._") or "graph"
    return stem[:100]


@dataclass(frozen=True, slots=True)
class BatchJob:
    """Picklable conversion settings (a compiled RuleSet is not; rules travel as text)."""

    output_format: str = "xml"
    rules_text: bytes | None = None
    rules_origin: str = ""
    layout: LayoutOptions | None = field(default_factory=lambda: LayoutOptions(workers=1))
    max_view_nodes: int = DEFAULT_MAX_VIEW_NODES
    time_limit_s: float | None = None  # per file
    validate: bool = True
    limits: Limits = field(default_factory=Limits)
    input_kind: str = "auto"


@dataclass(slots=True)
class BatchSummary:
    files: list[dict[str, Any]]
    seconds: float

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f["status"] != "ok")

    @property
    def exit_code(self) -> int:
        """0: all converted and valid; 1: some failed; 2 is left to usage errors (click)."""
        return 0 if self.failed == 0 else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "dot2archimate-batch",
            "version": 1,
            "total": len(self.files),
            "succeeded": len(self.files) - self.failed,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "files": self.files,
        }


@lru_cache(maxsize=4)
def _rules(text: bytes | None, origin: str) -> RuleSet | None:
    return load_rules(text, origin=origin) if text is not None else None


def _options(job: BatchJob) -> ConvertOptions:
    return ConvertOptions(
        output_format=job.output_format,  # type: ignore[arg-type]
        input_kind=job.input_kind,  # type: ignore[arg-type]
        rules=_rules(job.rules_text, job.rules_origin),
        layout=job.layout,
        max_view_nodes=job.max_view_nodes,
        time_limit_s=job.time_limit_s,
        validate=job.validate,
        limits=job.limits,
    )


def warm_up(job: BatchJob) -> None:
    """Build everything conversions reuse (parser, rules, relationship table, XSD schema) in this process."""
    if job.rules_text is None:
        builtin_rules("default")
        builtin_rules("terraform")
    convert("digraph warm { a -> b }", replace(_options(job), layout=None, time_limit_s=None))


def _one(path: str, out_dir: str, job: BatchJob) -> dict[str, Any]:
    started = time.perf_counter()
    src = Path(path)
    entry: dict[str, Any] = {"input": src.name, "outputs": [], "status": "ok"}
    try:
        result = convert(src.read_bytes(), _options(job), stem=safe_stem(src))
        target = Path(out_dir)
        if job.output_format == "csv":
            target = target / safe_stem(src)
            target.mkdir(parents=True, exist_ok=True)
        for name, data in result.files.items():
            (target / name).write_bytes(data)
            entry["outputs"].append(str((target / name).relative_to(out_dir)))
        report = result.report.to_dict()
        (Path(out_dir) / f"{safe_stem(src)}.report.json").write_text(json.dumps(report, indent=1))
        entry["elements"] = report["counts"]["elements"]
        entry["relationships"] = report["counts"]["relationships"]
        entry["views"] = len(result.model.views)
        if not report["valid"]:
            entry["status"] = "invalid"
    except Dot2ArchimateError as exc:
        entry.update(status="error", error_type=type(exc).__name__, error=str(exc))
    except OSError as exc:
        entry.update(status="error", error_type="OSError", error=str(exc))
    entry["seconds"] = round(time.perf_counter() - started, 4)
    return entry


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_batch(
    inputs: Iterable[Path],
    out_dir: Path,
    job: BatchJob,
    *,
    jobs: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Convert every input into `out_dir` using `jobs` processes; results in input order."""
    paths = sorted(inputs)
    stems = [safe_stem(p) for p in paths]
    dupes = {s for s in stems if stems.count(s) > 1}
    if dupes:
        raise Dot2ArchimateError(f"inputs map to the same output name: {', '.join(sorted(dupes))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    if jobs <= 1:
        for p in paths:
            results[str(p)] = _one(str(p), str(out_dir), job)
            if on_done:
                on_done(results[str(p)])
    else:
        warm_up(job)
        # fork: workers inherit the warm caches. Only from a single-threaded process (the CLI is one):
        # forking while other threads hold locks can deadlock the child, so then spawn and warm each worker.
        fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        context = multiprocessing.get_context("fork" if fork else "spawn")
        initializer = None if fork else partial(warm_up, job)
        largest_first = sorted(paths, key=_size, reverse=True)
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer) as pool:
            futures = {pool.submit(_one, str(p), str(out_dir), job): str(p) for p in largest_first}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if on_done:
                    on_done(results[futures[fut]])
    return BatchSummary([results[str(p)] for p in paths], time.perf_counter() - started)
