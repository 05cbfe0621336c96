"""CPU cost of the stack per request, in process: the ASGI apps driven directly, no sockets.

Complements run.py (wrk, end to end): CPU time of this thread (`time.thread_time`), best of
several alternating rounds, so other load on a shared machine hardly moves the figures. Prints
µs per request for each app bare and wrapped, and the stack's own cost; `--layers` adds the cost
of each layer alone around the raw app.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_apps

_SCOPE = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
          "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
          "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
          "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000)}  # fmt: skip


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


async def _drive(app: Any, requests: int) -> None:
    for _ in range(requests):
        await app(dict(_SCOPE), _receive, _send)


def best_of(apps: dict[str, Any], rounds: int, requests: int) -> dict[str, float]:
    loop = asyncio.new_event_loop()
    best = dict.fromkeys(apps, float("inf"))
    try:
        for _ in range(rounds):
            for name, app in apps.items():
                loop.run_until_complete(_drive(app, requests // 10))  # warm caches and label children
                started = time.thread_time()
                loop.run_until_complete(_drive(app, requests))
                best[name] = min(best[name], (time.thread_time() - started) / requests * 1e6)
    finally:
        loop.close()
    return best


def _layer_apps() -> dict[str, Any]:
    from servicekit import Health, metrics_for
    from servicekit.stack import MIDDLEWARE_ORDER, StackContext

    settings = bench_apps.bench_settings()
    context = StackContext(settings=settings, health=Health("bench"), metrics=metrics_for(settings, "bench_layers"))
    apps: dict[str, Any] = {"(none)": bench_apps.bare()}
    for name, layer in MIDDLEWARE_ORDER:
        apps[name] = layer(bench_apps.bare(), context)
    return apps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--layers", action="store_true", help="also measure each layer alone")
    args = parser.parse_args()
    out = sys.stdout
    sys.stdout = io.TextIOWrapper(io.BytesIO())  # the access log lines are not the point here
    names = ("bare", "full_stack", "fastapi_bare", "fastapi_full_stack")
    best = best_of({name: getattr(bench_apps, name)() for name in names}, args.rounds, args.requests)
    layers = best_of(_layer_apps(), args.rounds, args.requests) if args.layers else {}
    sys.stdout = out
    print(f"servicekit in process — CPU µs per request, best of {args.rounds} x {args.requests}")
    for name in names:
        print(f"{name:<20} {best[name]:8.2f}")
    print(f"stack cost, raw ASGI app: {best['full_stack'] - best['bare']:6.2f} µs")
    print(f"stack cost, FastAPI app:  {best['fastapi_full_stack'] - best['fastapi_bare']:6.2f} µs")
    for name, cost in layers.items():
        print(f"  layer {name:<18} {cost - layers['(none)']:+6.2f} µs")


if __name__ == "__main__":
    main()
