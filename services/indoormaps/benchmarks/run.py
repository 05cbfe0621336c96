"""indoormaps benchmarks, one run, side by side with the anchors:

  * a synthetic rooms layer (300k features, generated in PostgreSQL with generate_series):
    - our keyset SSE stream (JSON built in PostgreSQL, pooled async connections): full time,
      per-batch gap p50/p99 for the first and the last tenth of the batches, server RSS
      (start / peak / end) sampled while it streams;
    - tipg 1.x (installed in a separate venv in the temp dir, run with uvicorn against the same
      database): one GeoJSON response with every feature;
    - the original's pattern, reimplemented here only: OFFSET paging over a non-unique key with
      JSON built in Python (in-process, without HTTP, which only flatters it);
  * the SPbPU campus: all six layers streamed, nav-edges per-batch gaps, 200 concurrent SSE
    clients (peak DB connections from pg_stat_activity vs POOL_MAX), route queries per second
    with p50/p99 (sequential and 8 in flight).

    uv run python services/indoormaps/benchmarks/run.py [--quick]

Targets: full stream >= 5x faster than tipg; last-batch p99 <= 2x the first; route p99 < 50 ms.
Starts its own PostgreSQL (servicekit.local) and servers on loopback; needs PyPI for tipg.
"""

# ruff: noqa: S608 - SQL text here is built from this script's constants only

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
from servicekit.local import PostgresServer, free_port

BIN = Path(sys.executable).parent / "indoormaps"
CAMPUS_LAYERS = ("rooms", "openings", "amenities", "levels", "base-floor", "nav-edges")
POOL_MAX = 10
BATCH = 500  # the seed's batch size, for ours and for the OFFSET pattern alike
SECRET = "bench-" + "x7Kq2mZp9LwR4tYv8NcQ3sDf6GhJ1aE5"
FEATURE_MARK = '"type" : "Feature"'  # how PostgreSQL's json_build_object renders it


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: list[float]) -> str:
    return f"p50 {statistics.median(values):6.1f} ms, p99 {pct(values, 0.99):6.1f} ms"


# Synthetic layer ---------------------------------------------------------------------------------


def synthesize(dsn: str, features: int) -> None:
    """One venue/building, 10 levels, `features` square rooms on a grid near the campus."""
    side = 1e-5  # ~1 m at 60°N: rooms ~0.55 x 1.1 m, small but real polygons
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO indoor_data_version (source_name, source_sha256, created_at, is_current, counts, "
            "import_seconds) VALUES ('synthetic', repeat('0', 64), now(), true, '{}', 0)"
        )
        area = "ST_MakeEnvelope(30.0, 59.9, 30.2, 60.0, 4326)"
        conn.execute(
            f"INSERT INTO indoor_venue (version_id, name, names, category, geom) "
            f"SELECT id, 'Synthetic', '{{}}', 'unspecified', {area} FROM indoor_data_version"
        )
        conn.execute(
            f"INSERT INTO indoor_building (version_id, name, names, category, geom) "
            f"SELECT id, 'Synthetic', '{{}}', 'unspecified', {area} FROM indoor_data_version"
        )
        conn.execute(
            f"INSERT INTO indoor_level (version_id, building_id, ordinal, source_ordinal, name, short_name, "
            f"outdoor, geom) SELECT v.id, b.id, g, g, 'Level ' || g, g::text, false, {area} "
            "FROM indoor_data_version v, indoor_building b, generate_series(0, 9) g"
        )
        conn.execute(
            """
            INSERT INTO indoor_unit (version_id, imdf_id, level_id, name, names, search_name, category,
                                     restriction, geom, label_point)
            SELECT v.id, gen_random_uuid(), l.id, 'Room ' || g, json_build_object('en', 'Room ' || g)::jsonb,
                   'Room ' || g, 'room', NULL,
                   ST_MakeEnvelope(x, y, x + %(s)s, y + %(s)s, 4326), ST_MakePoint(x + %(s)s / 2, y + %(s)s / 2)
            FROM indoor_data_version v,
                 generate_series(0, %(n)s - 1) g
                 CROSS JOIN LATERAL (SELECT 30.0 + (g %% 1000) * 2 * %(s)s AS x,
                                            59.9 + (g / 1000) * 2 * %(s)s AS y) p
                 JOIN indoor_level l ON l.ordinal = g %% 10
            """,
            {"n": features, "s": side},
        )
        conn.execute("VACUUM ANALYZE")


# Servers -----------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def rss_mb(self) -> float:
        try:
            proc = psutil.Process(self.process.pid)
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
        except psutil.NoSuchProcess:
            return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_ready(url: str, process: subprocess.Popen[bytes], path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}{path} not ready in {seconds} s")


def start_indoormaps(workdir: Path, dsn: str) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "ENABLE_REQUEST_LOGGING": "false",
        "RATE_LIMIT_ENABLED": "false",
        "POOL_MAX": str(POOL_MAX),
        "POOL_TIMEOUT": "10",
    }
    log = open(workdir / f"indoormaps-{port}.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, cwd=workdir, stdout=log, stderr=log)
    server = Server(f"http://127.0.0.1:{port}", process)
    wait_ready(server.url, process, "/ready")
    return server


def start_tipg(workdir: Path, dsn: str, features: int) -> Server:
    """tipg in its own venv (its pins must not touch the workspace's), served by uvicorn."""
    venv = workdir / "tipg-venv"
    subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(venv)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "tipg>=1,<2", "uvicorn>=0.30"],
        check=True,
    )
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "DATABASE_URL": dsn,
        "TIPG_MAX_FEATURES_PER_QUERY": str(features + 1000),
        "TIPG_DEFAULT_FEATURES_LIMIT": "10",
        "TIPG_DB_SCHEMAS": '["public"]',
    }
    log = open(workdir / "tipg.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [venv / "bin" / "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port), "--log-level",
         "warning"],
        env=env, cwd=workdir, stdout=log, stderr=log,
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process)
    wait_ready(server.url, process, "/healthz")
    return server


@contextmanager
def rss_sampler(server: Server, every_s: float = 0.05) -> Iterator[list[float]]:
    samples: list[float] = [server.rss_mb()]
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            samples.append(server.rss_mb())
            stop.wait(every_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()
        samples.append(server.rss_mb())


# Clients -----------------------------------------------------------------------------------------


@dataclass
class StreamRun:
    seconds: float
    features: int
    gaps_ms: list[float] = field(default_factory=list)  # between consecutive batch events

    def tenth(self, last: bool) -> list[float]:
        n = max(1, len(self.gaps_ms) // 10)
        return self.gaps_ms[-n:] if last else self.gaps_ms[:n]


def sse_stream(client: httpx.Client, url: str) -> StreamRun:
    arrivals: list[float] = []
    features, event = 0, None
    started = time.perf_counter()
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "batch":
                arrivals.append(time.perf_counter())
                features += line.count(FEATURE_MARK)
    seconds = time.perf_counter() - started
    return StreamRun(seconds, features, [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)])


@dataclass
class OffsetRun:
    seconds: float  # measured (every batch) or estimated from the sampled depths
    exact: bool
    first_ms: list[float]
    last_ms: list[float]
    duplicates: int | None
    missing: int | None


def offset_pattern(dsn: str, features: int, every: int) -> OffsetRun:
    """The original's anti-pattern: OFFSET over a non-unique key, JSON built in Python.

    With every=1 each batch is fetched, so the duplicated and missing rooms are counted (paging
    over a key with ties is no total order: pages overlap and skip rows). With every=k only every
    k-th depth is timed and the total is estimated (each batch costs like its sampled neighbour):
    the full pattern over 300k rows takes many minutes, which is the point being measured.
    """
    offsets = list(range(0, features, BATCH))
    timed: list[float] = []
    seen: dict[int, int] = {}
    with psycopg.connect(dsn) as conn:
        for offset in offsets[::every]:
            started = time.perf_counter()
            rows = conn.execute(
                "SELECT u.id, u.imdf_id, u.name, u.category, u.level_id, ST_AsGeoJSON(u.geom, 7), "
                "ST_AsGeoJSON(u.label_point, 7) FROM indoor_unit u ORDER BY u.level_id OFFSET %s LIMIT %s",
                (offset, BATCH),
            ).fetchall()
            batch = []
            for pk, uid, name, category, level, geom, label in rows:
                seen[pk] = seen.get(pk, 0) + 1
                batch.append({
                    "type": "Feature", "id": str(uid), "geometry": json.loads(geom),
                    "properties": {"name": name, "category": category, "level": level,
                                   "label_point": json.loads(label)["coordinates"]},
                })  # fmt: skip
            payload = "data: " + json.dumps({"type": "FeatureCollection", "features": batch}) + "\n\n"
            assert payload.count('"type": "Feature"') == len(rows)
            timed.append((time.perf_counter() - started) * 1000)
    n = max(1, len(timed) // 10)
    first, last = timed[:n], timed[-n:]
    if every == 1:
        duplicates = sum(count - 1 for count in seen.values() if count > 1)
        return OffsetRun(sum(timed) / 1000, True, first, last, duplicates, features - len(seen))
    return OffsetRun(sum(timed) * every / 1000, False, first, last, None, None)


def tipg_all(server: Server, features: int) -> tuple[float, int]:
    url = (
        f"{server.url}/collections/public.indoor_unit/items?limit={features}&f=geojson"
        "&properties=imdf_id,name,names,category,restriction,level_id&geom-column=geom"
    )
    started = time.perf_counter()
    response = httpx.get(url, timeout=600)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, int(response.json()["numberReturned"])


async def many_clients(url: str, clients: int) -> tuple[float, int, int]:
    async def one(client: httpx.AsyncClient) -> tuple[int, bool]:
        count, ended = 0, False
        async with client.stream("GET", url) as response:
            async for line in response.aiter_lines():
                if line.startswith('data: {"type":"FeatureCollection"'):
                    count += line.count(FEATURE_MARK)
                elif line == "event: end":
                    ended = True
        return count, ended

    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(one(client) for _ in range(clients)))
    return time.perf_counter() - started, sum(c for c, _ in results), sum(1 for _, e in results if e)


async def crowd_with_connection_count(dsn: str, url: str, clients: int) -> tuple[float, int, int, int]:
    peak, done = 0, False

    async def sample() -> None:
        nonlocal peak
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            while not done:
                cur = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'indoormaps' AND datname = current_database()"
                )
                row = await cur.fetchone()
                peak = max(peak, int(row[0]) if row else 0)
                await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        seconds, features, ended = await many_clients(url, clients)
    finally:
        done = True
        await sampler
    return seconds, features, ended, peak


async def routes_concurrently(url: str, bodies: list[dict[str, object]], in_flight: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(bodies)

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 404):  # 404: no step-free route exists (a real answer)
                response.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(in_flight)))
    return time.perf_counter() - started, latencies


# Main --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30k synthetic features, fewer repeats")
    args = parser.parse_args()
    features = 30_000 if args.quick else 300_000
    repeats = 1 if args.quick else 3
    tipg_repeats = 1  # a full tipg response of 300k features takes a minute or more
    route_count = 60 if args.quick else 300
    rows: list[str] = []
    verdicts: list[str] = []

    def say(line: str) -> None:
        rows.append(line)
        print(line, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="indoormaps-bench-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - the postgres user must enter it
    pg = PostgresServer(directory=workdir / "pg", settings={"shared_buffers": "256MB"}).start()
    servers: list[Server] = []
    try:
        extensions = ("postgis", "pgrouting", "pg_trgm")
        synth_dsn = pg.create_database("indoormaps_synth", extensions=extensions)
        campus_dsn = pg.create_database("indoormaps_campus", extensions=extensions)
        subprocess.run([BIN, "migrate", "--database-url", synth_dsn], check=True, capture_output=True)
        started = time.perf_counter()
        synthesize(synth_dsn, features)
        print(f"(set-up: {features} synthetic rooms in {time.perf_counter() - started:.1f} s)", flush=True)
        subprocess.run([BIN, "demo-data", "--database-url", campus_dsn], check=True, capture_output=True)
        synth = start_indoormaps(workdir, synth_dsn)
        servers.append(synth)
        campus = start_indoormaps(workdir, campus_dsn)
        servers.append(campus)
        tipg = start_tipg(workdir, synth_dsn, features)
        servers.append(tipg)

        say(f"== synthetic rooms layer: {features} features, batch {BATCH}")
        with httpx.Client(base_url=synth.url, timeout=600) as client:
            sse_stream(client, f"/api/rooms/?batch_size={BATCH}")  # warm-up (plans, pool)
            runs: list[StreamRun] = []
            rss_start = synth.rss_mb()
            with rss_sampler(synth) as rss:
                for _ in range(repeats):
                    runs.append(sse_stream(client, f"/api/rooms/?batch_size={BATCH}"))
        assert all(r.features == features for r in runs), [r.features for r in runs]
        ours = statistics.median(r.seconds for r in runs)
        first = [g for r in runs for g in r.tenth(last=False)]
        last = [g for r in runs for g in r.tenth(last=True)]
        say(f"ours   keyset SSE, JSON in PostgreSQL : {ours:7.2f} s (median of {repeats})")
        say(f"       per batch, first tenth         : {spread(first)}")
        say(f"       per batch, last tenth          : {spread(last)}")
        say(f"       server RSS start/peak/end      : {rss_start:.0f} / {max(rss):.0f} / {rss[-1]:.0f} MB")

        tipg_runs = [tipg_all(tipg, features) for _ in range(tipg_repeats)]
        assert all(n == features for _, n in tipg_runs), [n for _, n in tipg_runs]
        tipg_s = statistics.median(s for s, _ in tipg_runs)
        say(f"tipg   one GeoJSON response           : {tipg_s:7.2f} s (median of {tipg_repeats})")

        offset_run = offset_pattern(synth_dsn, features, every=1 if args.quick else 10)
        how = "one run" if offset_run.exact else "estimated from every 10th depth"
        say(f"orig.  OFFSET + Python JSON           : {offset_run.seconds:7.2f} s ({how}, no HTTP)")
        say(f"       per batch, first tenth         : {spread(offset_run.first_ms)}")
        say(f"       per batch, last tenth          : {spread(offset_run.last_ms)}")
        if offset_run.exact:
            say(f"       rows duplicated / missing      : {offset_run.duplicates} / {offset_run.missing}")

        ratio_tipg = tipg_s / ours
        ratio_offset = offset_run.seconds / ours
        depth = pct(last, 0.99) / pct(first, 0.99)
        rss_growth = max(rss) - rss_start
        say(f"ratios: tipg/ours {ratio_tipg:.1f}x, offset/ours {ratio_offset:.1f}x; last/first batch p99 {depth:.2f}")
        verdicts += [
            f"full stream >= 5x faster than tipg: {'PASS' if ratio_tipg >= 5 else 'FAIL'} ({ratio_tipg:.1f}x)",
            f"last-batch p99 <= 2x first: {'PASS' if depth <= 2 else 'FAIL'} ({depth:.2f}x)",
            f"RSS flat while streaming (peak - start {rss_growth:.0f} MB)",
        ]

        say("== SPbPU campus")
        with httpx.Client(base_url=campus.url, timeout=120) as client:
            whole, total = [], 0
            for _ in range(repeats + 2):
                started, total = time.perf_counter(), 0
                for layer in CAMPUS_LAYERS:
                    total += sse_stream(client, f"/api/layers/{layer}/stream").features
                whole.append((time.perf_counter() - started) * 1000)
            say(f"all 6 layers over SSE ({total} features): median {statistics.median(whole):.0f} ms")
            edge_runs = [sse_stream(client, "/api/layers/nav-edges/stream?batch_size=100") for _ in range(repeats + 2)]
            first_e = [g for r in edge_runs for g in r.tenth(last=False)]
            last_e = [g for r in edge_runs for g in r.tenth(last=True)]
            say(f"nav-edges batch 100, first tenth: {spread(first_e)}; last tenth: {spread(last_e)}")

            with psycopg.connect(campus_dsn) as conn:
                rooms = [
                    str(r[0])
                    for r in conn.execute(
                        "SELECT imdf_id FROM indoor_unit WHERE name LIKE 'Classroom%%' ORDER BY id"
                    ).fetchall()
                ]
            # Stairs-only floors: some step_free/wheelchair pairs have no route (404, a full search too).
            rng = random.Random(7)
            profiles = ("default", "step_free", "wheelchair")
            bodies: list[dict[str, object]] = []
            for i in range(route_count):
                a, b = rng.sample(rooms, 2)
                bodies.append({"from": {"room": a}, "to": {"room": b}, "profile": profiles[i % 3]})
            sequential, codes = [], {}
            started = time.perf_counter()
            for body in bodies:
                t0 = time.perf_counter()
                response = client.post("/api/route/", json=body)
                sequential.append((time.perf_counter() - t0) * 1000)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
            seq_s = time.perf_counter() - started
        say(
            f"POST /api/route/ x{route_count} sequential (3 profiles): {route_count / seq_s:.0f} q/s, "
            f"{spread(sequential)}, statuses {codes}"
        )
        conc_s, conc = asyncio.run(routes_concurrently(f"{campus.url}/api/route/", bodies, 8))
        say(f"POST /api/route/ x{route_count}, 8 in flight: {route_count / conc_s:.0f} q/s, {spread(conc)}")
        route_p99 = pct(sequential, 0.99)
        verdicts.append(f"route p99 < 50 ms: {'PASS' if route_p99 < 50 else 'FAIL'} ({route_p99:.1f} ms)")

        seconds, got, ended, peak = asyncio.run(
            crowd_with_connection_count(campus_dsn, f"{campus.url}/api/rooms/?batch_size=50", 200)
        )
        say(
            f"200 concurrent SSE clients (rooms, batch 50): {seconds:.1f} s, {ended}/200 ended, {got} features "
            f"(expected {200 * 443}), peak DB connections {peak} (POOL_MAX {POOL_MAX})"
        )
        verdicts.append(f"200 clients within the pool: {'PASS' if peak <= POOL_MAX and ended == 200 else 'FAIL'}")
        print("\n".join(["", "== verdicts (noisy on a shared machine)", *verdicts]), flush=True)
    finally:
        for server in servers:
            server.stop()
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
