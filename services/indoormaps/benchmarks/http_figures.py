"""HTTP figures for the campus, one run: SSE per-batch gaps at depth, full-campus stream time, route
latency, and 200 concurrent SSE clients against a 10-connection pool (DB connections counted).

    uv run python services/indoormaps/benchmarks/http_figures.py

Starts its own PostgreSQL (servicekit.local), loads the campus with `indoormaps demo-data` and
runs `indoormaps serve` (uvicorn, one process) on loopback. Not part of `make test`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from servicekit.local import PostgresServer, free_port

BIN = Path(sys.executable).parent / "indoormaps"
LAYERS = ("rooms", "openings", "amenities", "levels", "base-floor", "nav-edges")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sse_arrivals(client: httpx.Client, url: str) -> tuple[list[float], int]:
    """Arrival time of each batch event and the number of features."""
    arrivals, features, event = [], 0, None
    with client.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "batch":
                arrivals.append(time.perf_counter())
                features += line.count('"type" : "Feature"')
    return arrivals, features


async def many_clients(url: str, clients: int) -> tuple[float, int]:
    async def one(client: httpx.AsyncClient) -> int:
        count = 0
        async with client.stream("GET", url) as response:
            async for line in response.aiter_lines():
                if line.startswith('data: {"type":"FeatureCollection"'):
                    count += line.count('"type" : "Feature"')
        return count

    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        counts = await asyncio.gather(*(one(client) for _ in range(clients)))
        return time.perf_counter() - started, sum(counts)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="indoormaps-bench-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - the postgres user must enter it
    pg = PostgresServer(directory=workdir / "pg").start()
    service: subprocess.Popen[bytes] | None = None
    try:
        dsn = pg.create_database("indoormaps", extensions=("postgis", "pgrouting", "pg_trgm"))
        subprocess.run([BIN, "demo-data", "--database-url", dsn], check=True, capture_output=True)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "SECRET_KEY": "b" * 8 + "x7Kq2mZp9LwR4tYv8NcQ3sDf6GhJ1aE5",
            "LOG_LEVEL": "WARNING",
            "ENABLE_REQUEST_LOGGING": "false",
            "POOL_MAX": "10",
            "POOL_TIMEOUT": "5",
        }
        service = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, cwd=workdir)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(100):
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            rows = []
            for batch in (100, 500):
                gaps_all: list[float] = []
                firsts, lasts = [], []
                for _ in range(5):
                    arrivals, _ = sse_arrivals(client, f"/api/layers/nav-edges/stream?batch_size={batch}")
                    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
                    gaps_all += gaps
                    firsts.append(gaps[0])
                    lasts.append(gaps[-1])
                rows.append(
                    f"SSE nav-edges batch {batch:>3}: gap p50 {statistics.median(gaps_all):5.1f} ms, "
                    f"p99 {pct(gaps_all, 0.99):5.1f} ms, first {statistics.median(firsts):4.1f} ms, "
                    f"last {statistics.median(lasts):4.1f} ms"
                )
            campus = []
            for _ in range(5):
                started, total = time.perf_counter(), 0
                for layer in LAYERS:
                    total += sse_arrivals(client, f"/api/layers/{layer}/stream")[1]
                campus.append((time.perf_counter() - started) * 1000)
            rows.append(f"SSE whole campus ({total} features, 6 streams): median {statistics.median(campus):.0f} ms")
            with psycopg.connect(dsn) as conn:
                rooms = [str(r[0]) for r in conn.execute(
                    "SELECT imdf_id FROM indoor_unit WHERE name LIKE 'Classroom%%'").fetchall()]  # fmt: skip
            rng = random.Random(7)
            latencies, codes = [], {}
            for i in range(200):
                a, b = rng.sample(rooms, 2)
                profile = ("default", "step_free", "wheelchair")[i % 3]
                started = time.perf_counter()
                r = client.post("/api/route/", json={"from": {"room": a}, "to": {"room": b}, "profile": profile})
                latencies.append((time.perf_counter() - started) * 1000)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
            rows.append(
                f"POST /api/route/ x200 (3 profiles): p50 {statistics.median(latencies):.1f} ms, "
                f"p99 {pct(latencies, 0.99):.1f} ms, statuses {codes}"
            )
        peak = 0
        done = False

        async def sample() -> None:
            nonlocal peak
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                while not done:
                    cur = await conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'indoormaps'"
                    )
                    row = await cur.fetchone()
                    peak = max(peak, int(row[0]) if row else 0)
                    await asyncio.sleep(0.01)

        async def crowd() -> tuple[float, int]:
            nonlocal done
            sampler = asyncio.create_task(sample())
            try:
                return await many_clients(f"{base}/api/rooms/?batch_size=50", 200)
            finally:
                done = True
                await sampler

        seconds, features = asyncio.run(crowd())
        rows.append(
            f"200 concurrent SSE clients (rooms, batch 50): {seconds * 1000:.0f} ms, {features} features "
            f"(expected {200 * 443}), peak DB connections {peak} (POOL_MAX 10)"
        )
        print("\n".join(rows))
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=20)
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
