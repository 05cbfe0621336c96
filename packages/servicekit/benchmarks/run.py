"""servicekit overhead: the same trivial app bare and behind the full stack, under wrk, in one run.

Each variant runs in its own uvicorn process (one worker, uvloop/httptools) on loopback; wrk drives
16 connections on one thread for `--seconds` per round; rounds alternate between variants so
machine noise hits both alike. Prints medians of req/s, p50 and p99, and the throughput ratio.
Two trivial apps: a raw ASGI callable (about 2 µs of work: the stack's absolute cost shows) and a
FastAPI route (what services actually run). Target (foundation issue): the stack costs at most
10 % of throughput.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from servicekit.local import free_port

HERE = Path(__file__).parent
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def start(factory: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", f"bench_apps:{factory}", "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--no-server-header"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{factory} did not start")


def wrk(port: int, seconds: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {q: float(v) * scale[u] for q, v, u in _LATENCY.findall(out)}
    return rps, lat["50"], lat["99"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk; `make bench` bootstraps it)")
    variants = {name: free_port() for name in ("bare", "full_stack", "fastapi_bare", "fastapi_full_stack")}
    processes = {name: start(name, port) for name, port in variants.items()}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    try:
        for port in variants.values():
            wrk(port, 1)  # warm-up
        for _ in range(args.rounds):
            for name, port in variants.items():
                results[name].append(wrk(port, args.seconds))
    finally:
        for process in processes.values():
            process.terminate()
            process.wait()
    print(f"\nservicekit overhead — wrk -t1 -c16, {args.rounds} x {args.seconds}s rounds, medians")
    print(f"{'variant':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    medians = {}
    for name, rows in results.items():
        medians[name] = tuple(statistics.median(column) for column in zip(*rows, strict=True))
        rps, p50, p99 = medians[name]
        print(f"{name:<12} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f}")
    for app in ("", "fastapi_"):
        ratio = medians[f"{app}full_stack"][0] / medians[f"{app}bare"][0]
        label = f"{app}full_stack/{app}bare"
        print(f"throughput ratio {label:<34} = {ratio:.3f} (stack cost {100 * (1 - ratio):.1f} %; target <= 10 %)")


if __name__ == "__main__":
    main()
