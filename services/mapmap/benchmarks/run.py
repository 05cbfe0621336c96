"""MapMap vs MapProxy 7.0, side by side in one run: same upstream, same worker count, wrk on loopback.

Starts the benchmark upstream (`tile_upstream.py`: pre-rendered 10-30 KB PNGs, keep-alive, a `slow`
layer answering after 200 ms), MapMap (`mapmap serve --production`: gunicorn + uvicorn workers),
MapMap bare (the same app without servicekit's middleware stack, to tell MapMap's own cost from the
envelope's) and MapProxy (gunicorn, its own venv created here with pip on first run, file cache in a
temp dir). Rounds alternate between the servers; the table shows medians over rounds and the ratio
MapMap / MapProxy. Scenarios (wrk -c16 unless noted):

- hot tile (one cached URL), hot set (64 cached tiles), cold misses (every request a new tile),
- slow upstream misses (new tiles from the 200 ms layer),
- herd: 100 concurrent requests (fresh connections) on one cold tile of the slow layer, --herds times
  per round on new tiles: upstream fetches and the waiters' p99 above the upstream's 200 ms; "burst 100
  hot" is the same burst on a cached tile, i.e. what 100 simultaneous answers cost without any
  coalescing; medians over herds, plus the p99 of all herds' answers pooled,
- upstream down (connection refused): status codes and latency of sequential requests,
- memory: MapMap's workers filled with --fill new tiles each (CACHE_SIZE=10000), then the hot set and
  cold misses served; peak RSS per worker and for the instance (psutil), against the 512 MiB limit.

MapMap+redis (`CACHE_BACKEND=redis` on a local redis-server without persistence, single-flight across
workers) runs the hot tile and herd scenarios as an extra column. The memory scenario is also
run for the shared caches: `CACHE_BACKEND=mbtiles` (a separate instance started for it) and redis, each
filled with --shared-fill distinct tiles through the instance (counted in the MBTiles files with sqlite3,
in Redis with SCAN), then loaded; redis-server's own peak RSS is reported separately.

    uv run python services/mapmap/benchmarks/run.py            # full: ~5-6 minutes
    uv run python services/mapmap/benchmarks/run.py --quick    # sanity run: ~2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import redis
from servicekit.local import RedisServer, free_port, wait_for_port

HERE = Path(__file__).resolve().parent
VENV = HERE / ".mapproxy-venv"
MEMORY_LIMIT_MIB = 512
SLOW_DELAY_MS = 200.0
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
HOT_SET = [(12, 2300 + i % 8, 1200 + i // 8) for i in range(64)]

MAPPROXY_YAML = """
services:
  tms:
    use_grid_names: true
    origin: nw
layers:
{layers}
caches:
{caches}
sources:
{sources}
grids:
  webmercator:
    base: GLOBAL_WEBMERCATOR
    origin: nw
globals:
  cache: {{lock_dir: {locks}}}
"""


def mapproxy_yaml(work: Path, urls: dict[str, str]) -> str:
    layers, caches, sources = [], [], []
    for name, url in urls.items():
        layers.append(f"  - name: {name}\n    title: {name}\n    sources: [{name}_cache]")
        caches.append(
            f"  {name}_cache:\n    grids: [webmercator]\n    sources: [{name}_tiles]\n"
            f"    cache: {{type: file, directory: {work / 'mp-cache' / name}}}"
        )
        sources.append(
            f"  {name}_tiles:\n    type: tile\n    grid: webmercator\n    url: {url}\n    http: {{client_timeout: 10}}"
        )
    return MAPPROXY_YAML.format(
        layers="\n".join(layers), caches="\n".join(caches), sources="\n".join(sources), locks=work / "mp-locks"
    )


def ensure_mapproxy() -> Path:
    gunicorn = VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        print("creating the MapProxy venv (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "MapProxy==7.0.*", "gunicorn", "PyYAML", "Pillow"], check=True
        )
    return gunicorn


# -- load generators ------------------------------------------------------------------------------


def wrk(url: str, seconds: float, script: Path) -> dict[str, float]:
    """req/s of 2xx/3xx answers, p50/p99 ms, error share in %."""
    args = ["wrk", "-t1", "-c16", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(bad_match.group(1)) if bad_match else 0
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {q: float(v) * scale[u] for q, v, u in _LATENCY.findall(out)}
    good = 1 - bad / max(total, 1)
    return {"req/s": rps * good, "p50 ms": lat["50"], "p99 ms": lat["99"], "error %": 100 * (1 - good)}


def lua_cycle(path: Path, paths: list[str]) -> Path:
    items = ",".join(f'"{p}"' for p in paths)
    path.write_text(
        f"local paths = {{{items}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return path


def lua_unique(path: Path, pattern: str, start: int) -> Path:
    """Every request a new z=16 tile, numbered from `start` (pattern has %d for x and y)."""
    path.write_text(
        f"local n = {start}\nrequest = function()\n  n = n + 1\n"
        f'  local path = string.format("{pattern}", n % 65536, 20000 + math.floor(n / 65536))\n'
        "  return wrk.format('GET', path)\nend\n"
    )
    return path


async def _one_request(port: int, path: str) -> tuple[int, float]:
    """(status, ms) of one GET on a fresh connection, read to the end."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request(path))
    data = await reader.read()
    writer.close()
    return _status(data), (time.perf_counter() - started) * 1000


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0


def burst(port: int, path: str, n: int) -> list[tuple[int, float]]:
    """`n` requests of one path sent at once on `n` connections opened beforehand; (status, ms) each.

    The connections are open (and accepted by the server's backlog) before the clock starts, and the
    requests go out in one loop without yielding, so the times are the server's, not the client's
    connection set-up.
    """
    import uvloop

    async def all_at_once() -> list[tuple[int, float]]:
        connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(n)))
        await asyncio.sleep(0.2)
        request = _request(path)
        started = time.perf_counter()
        for _, writer in connections:
            writer.write(request)

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, float]:
            data = await reader.read()
            elapsed = (time.perf_counter() - started) * 1000
            writer.close()
            return _status(data), elapsed

        return list(await asyncio.gather(*(answer(reader, writer) for reader, writer in connections)))

    return uvloop.run(all_at_once())


def sequential(port: int, paths: list[str]) -> list[tuple[int, float]]:
    import uvloop

    async def one_by_one() -> list[tuple[int, float]]:
        return [await _one_request(port, path) for path in paths]

    return uvloop.run(one_by_one())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


# -- processes ------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    pattern: str
    """Path of a tile: format fields layer, z, x, y."""
    process: subprocess.Popen[bytes]
    scenarios: tuple[str, ...]
    results: dict[str, list[float]] = field(default_factory=dict)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def path(self, layer: str, z: int | str, x: int | str, y: int | str) -> str:
        return self.pattern.format(layer=layer, z=z, x=x, y=y)

    def add(self, key: str, value: float) -> None:
        self.results.setdefault(key, []).append(value)

    def worker_pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]


class RssSampler:
    """Peak RSS per process and peak PSS of a whole process tree, sampled in a thread.

    PSS counts pages the gunicorn master shares with its forked workers once, as a container's memory
    limit does; summing RSS would count them once per process.
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peaks: dict[int, int] = {}
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pss = 0
            for process in [self.root, *self.root.children(recursive=True)]:
                try:
                    memory = process.memory_full_info()
                except psutil.Error:
                    continue
                pss += memory.pss
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), memory.rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# -- scenarios ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, work: Path, upstream_port: int, seconds: float, herd_count: int = 10) -> None:
        self.work = work
        self.herd_count = herd_count
        self.upstream = f"http://127.0.0.1:{upstream_port}"
        self.seconds = seconds
        self.next_unique = 0

    def unique_start(self) -> int:
        self.next_unique += 400_000  # far more tiles than any phase requests
        return self.next_unique

    def upstream_counts(self, reset: bool = False) -> dict[str, int]:
        url = f"{self.upstream}/_control" + ("?reset=1" if reset else "")
        return httpx.get(url, timeout=10).json()["by_layer"]  # type: ignore[no-any-return]

    def settle(self, quiet: float = 0.5, limit: float = 30.0) -> None:
        """Wait until the upstream has seen no tile request for `quiet` seconds."""
        deadline = time.monotonic() + limit
        last = self.upstream_counts()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.upstream_counts()
            if now == last:
                return
            last = now

    def warm(self, target: Target) -> None:
        hot = [target.path("demo", z, x, y) for z, x, y in HOT_SET]
        for path in hot:
            httpx.get(target.base + path, timeout=30).raise_for_status()
        script = lua_cycle(self.work / f"{target.name}-warm.lua", hot)
        wrk(target.base + "/", 2, script)  # every worker's cache warm before measuring

    def round(self, target: Target, round_number: int) -> None:
        work, name = self.work, target.name.replace(" ", "-")
        hot = [target.path("demo", z, x, y) for z, x, y in HOT_SET]
        loads: dict[str, Callable[[], Path]] = {
            "hot tile": lambda: lua_cycle(work / f"{name}-one.lua", hot[:1]),
            "hot set (64)": lambda: lua_cycle(work / f"{name}-set.lua", hot),
            "cold misses": lambda: lua_unique(
                work / f"{name}-cold.lua", target.path("demo", 16, "%d", "%d"), self.unique_start()
            ),
            "slow upstream misses": lambda: lua_unique(
                work / f"{name}-slow.lua", target.path("slow", 16, "%d", "%d"), self.unique_start()
            ),
        }
        for label, script in loads.items():
            if label not in target.scenarios:
                continue
            for key, value in wrk(target.base + "/", self.seconds, script()).items():
                target.add(f"{label} {key}", value)
            time.sleep(0.5)
        if "herd" in target.scenarios:
            self.herds(target, round_number, hot[0])
        if "down" in target.scenarios:
            start = self.unique_start()
            paths = [target.path("down", 16, (start + i) % 65536, 20000 + round_number) for i in range(30)]
            answers = sequential(target.port, paths)
            target.statuses.update(status for status, _ in answers)
            target.add("upstream down p50 ms", statistics.median(ms for _, ms in answers))
            target.add("upstream down p99 ms", p99([ms for _, ms in answers]))

    def herds(self, target: Target, round_number: int, hot_path: str) -> None:
        """`self.herd_count` herds on new cold tiles, each followed by a burst of 100 on a cached tile.

        One burst's p99 is its 2nd-slowest answer, so a single herd is mostly noise: the table shows the
        median over herds of the per-herd figures, and the p99 of all herd answers pooled.
        """
        self.settle()  # MapProxy's sync workers still work through the slow phase's queued requests
        fetches, herd_p99s, hot_p99s, overheads, pooled, pooled_hot, bad = [], [], [], [], [], [], 0
        for herd in range(self.herd_count):
            self.upstream_counts(reset=True)
            cold = target.path("slow", 14, 9300 + round_number * self.herd_count + herd, 5000)
            answers = burst(target.port, cold, 100)
            fetches.append(self.upstream_counts()["slow"])
            bad += sum(status != 200 for status, _ in answers)
            waits = [ms - SLOW_DELAY_MS for _, ms in answers]
            hot_answers = [ms for _, ms in burst(target.port, hot_path, 100)]
            herd_p99s.append(p99(waits))
            hot_p99s.append(p99(hot_answers))
            overheads.append(herd_p99s[-1] - hot_p99s[-1])  # what coalescing adds beyond answering 100 at once
            pooled += waits
            pooled_hot += hot_answers
            time.sleep(0.2)
        target.add("herd 100 upstream fetches (max)", max(fetches))
        target.add("herd 100 non-200 answers", bad)
        target.add("herd 100 waiter p99 over 200 ms", statistics.median(herd_p99s))
        target.add("burst 100 hot p99 ms", statistics.median(hot_p99s))
        target.add("herd 100 p99 - 200 ms - hot burst p99", statistics.median(overheads))
        target.add("  same, p99 of all herds pooled", p99(pooled) - p99(pooled_hot))

    def worker_cache_size(self, target: Target) -> int:
        """The smallest per-worker memory cache seen over 24 /health answers (spread over the workers)."""
        return min(httpx.get(target.base + "/health", timeout=10).json()["cache_size"] for _ in range(24))

    def memory(self, target: Target, fill: int, held: Callable[[], int] | None = None) -> dict[str, float]:
        """Fill the cache with `fill` new tiles, serve the load, report peak RSS.

        `held` counts the tiles the cache holds; by default the smallest worker's memory cache.
        """
        count = held or (lambda: self.worker_cache_size(target))
        with RssSampler(target.process.pid) as sampler:
            deadline = time.monotonic() + 120
            size = 0
            while time.monotonic() < deadline:
                script = lua_unique(self.work / "fill.lua", target.path("demo", 16, "%d", "%d"), self.unique_start())
                wrk(target.base + "/", 4, script)
                before, size = size, count()
                if size >= fill or size == before:  # full, or held at its byte budget
                    break
            hot = lua_cycle(self.work / "mem-set.lua", [target.path("demo", z, x, y) for z, x, y in HOT_SET])
            wrk(target.base + "/", max(2.0, self.seconds), hot)
            cold = lua_unique(self.work / "mem-cold.lua", target.path("demo", 16, "%d", "%d"), self.unique_start())
            wrk(target.base + "/", max(2.0, self.seconds), cold)
        workers = [sampler.peaks.get(pid, 0) for pid in target.worker_pids()]
        return {
            "cache sizes seen": size,
            "tiles after the load": count(),
            "peak worker RSS MiB": max(workers) / 2**20,
            "peak instance PSS MiB": sampler.peak_pss / 2**20,
        }


def mbtiles_tiles(directory: Path) -> int:
    """Rows of the `tiles` tables of every MBTiles file in `directory` (read-only; the workers keep writing)."""
    total = 0
    for path in sorted(directory.glob("*.mbtiles")):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            total += connection.execute("SELECT count(*) FROM tiles").fetchone()[0]
        finally:
            connection.close()
    return total


def redis_tiles(url: str) -> int:
    """Tile entries of MapMap's Redis cache (keys `mapmap:tiles:t:*`)."""
    client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match="mapmap:tiles:t:*", count=1000))
    finally:
        client.close()


def start(command: list[str], port: int, **kwargs: object) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    wait_for_port(port, timeout=60)
    return process  # type: ignore[no-any-return]


def print_table(targets: list[Target]) -> None:
    """MapMap, MapProxy and their ratio, then one column per other MapMap variant (blank where not run)."""
    ours, theirs, extras = targets[0], targets[-1], targets[1:-1]
    headers = "".join(f" {t.name.removeprefix('MapMap').strip():>9}" for t in extras)
    print(f"\n{'median of rounds':36} {'MapMap':>9} {'MapProxy':>9} {'ratio':>6}{headers}")
    for key, values in ours.results.items():
        mine = statistics.median(values)
        other = statistics.median(theirs.results[key]) if key in theirs.results else float("nan")
        ratio = mine / other if other else float("nan")
        columns = "".join(
            f" {statistics.median(t.results[key]):9.1f}" if key in t.results else f" {'':9}" for t in extras
        )
        print(f"{key:36} {mine:9.1f} {other:9.1f} {ratio:6.2f}{columns}")
    for target in (ours, theirs):
        print(f"upstream down status codes, {target.name}: {dict(sorted(target.statuses.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--herds", type=int, default=10, help="herds of 100 per round (each on a new cold tile)")
    parser.add_argument("--fill", type=int, default=10_000, help="tiles per worker for the memory scenario")
    parser.add_argument(
        "--shared-fill", type=int, default=10_000, help="tiles per instance for the mbtiles and redis memory scenario"
    )
    parser.add_argument("--quick", action="store_true", help="sanity run: 2 s per load, 1 round, 1000-tile fill")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-app (no middleware) variant")
    parser.add_argument("--no-redis", action="store_true", help="skip the CACHE_BACKEND=redis variant")
    parser.add_argument("--no-mbtiles", action="store_true", help="skip the CACHE_BACKEND=mbtiles memory scenario")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.fill, args.herds = 2, 1, 1000, 3
    work = Path(tempfile.mkdtemp(prefix="mapmap-bench-"))
    up_port, down_port = free_port(), free_port()  # nothing ever listens on down_port
    procs: list[subprocess.Popen[bytes]] = []
    redis_server: RedisServer | None = None
    try:
        procs.append(start([sys.executable, str(HERE / "tile_upstream.py"), "--port", str(up_port)], up_port))
        bench = Bench(work, up_port, args.seconds, args.herds)
        capabilities = f"{bench.upstream}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
        endpoints = [
            {"name": "demo", "capabilities_url": capabilities, "layer": "demo", "tile_matrix_set": "WebMercatorQuad"},
            {"name": "slow", "capabilities_url": capabilities, "layer": "slow", "tile_matrix_set": "WebMercatorQuad"},
            {"name": "down", "xyz_template": f"http://127.0.0.1:{down_port}/{{z}}/{{x}}/{{y}}.png"},
        ]
        (work / "upstreams.json").write_text(json.dumps({"endpoints": endpoints}))
        (work / "prom").mkdir()
        env = {**os.environ, "UPSTREAMS_FILE": str(work / "upstreams.json"), "DEMO_UPSTREAM": "false",
               "SECRET_KEY": os.urandom(24).hex(), "ALLOWED_HOSTS": "127.0.0.1", "ENABLE_REQUEST_LOGGING": "false",
               "LOG_LEVEL": "WARNING", "WORKERS": str(args.workers), "CACHE_SIZE": "10000",
               "PROMETHEUS_MULTIPROC_DIR": str(work / "prom")}  # fmt: skip
        every = ("hot tile", "hot set (64)", "cold misses", "slow upstream misses", "herd", "down")
        targets = []
        mm_port = free_port()
        serve = [sys.executable, "-m", "mapmap.cli", "serve", "--production", "--host", "127.0.0.1"]
        process = start([*serve, "--port", str(mm_port)], mm_port, env=env, cwd=work)
        procs.append(process)
        targets.append(Target("MapMap", mm_port, "/tiles/{layer}/{z}/{x}/{y}.png", process, every))
        if not args.no_bare:
            bare_port = free_port()
            bare_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(work / "prom-bare")}
            (work / "prom-bare").mkdir()
            command = [sys.executable, str(HERE / "variants.py"), "bare", "--port", str(bare_port)]
            process = start([*command, "--workers", str(args.workers)], bare_port, env=bare_env, cwd=work)
            procs.append(process)
            scenarios = ("hot tile", "hot set (64)", "cold misses", "herd")
            targets.append(Target("MapMap bare", bare_port, "/tiles/{layer}/{z}/{x}/{y}.png", process, scenarios))
        if not args.no_redis:
            redis_server = RedisServer(work / "redis").start()  # no RDB, no AOF: a pure cache
            redis_port = free_port()
            (work / "prom-redis").mkdir()
            redis_env = {**env, "CACHE_BACKEND": "redis", "CACHE_REDIS_URL": redis_server.url,
                         "PROMETHEUS_MULTIPROC_DIR": str(work / "prom-redis")}  # fmt: skip
            process = start([*serve, "--port", str(redis_port)], redis_port, env=redis_env, cwd=work)
            procs.append(process)
            scenarios = ("hot tile", "herd")
            targets.append(Target("MapMap+redis", redis_port, "/tiles/{layer}/{z}/{x}/{y}.png", process, scenarios))
        gunicorn = ensure_mapproxy()
        config = work / "mapproxy.yaml"
        rest = f"{bench.upstream}/wmts/rest/{{layer}}/default/WebMercatorQuad/%(z)s/%(y)s/%(x)s.png"
        urls = {layer: rest.format(layer=layer) for layer in ("demo", "slow")}
        urls["down"] = f"http://127.0.0.1:{down_port}/%(z)s/%(x)s/%(y)s.png"
        config.write_text(mapproxy_yaml(work, urls))
        mp_port = free_port()
        mp_command = [str(gunicorn), "-w", str(args.workers), "-b", f"127.0.0.1:{mp_port}", "--log-level",
                      "warning", f"mapproxy.wsgiapp:make_wsgi_app('{config}')"]  # fmt: skip
        process = start(mp_command, mp_port, cwd=work)
        procs.append(process)
        targets.append(Target("MapProxy", mp_port, "/tms/1.0.0/{layer}/webmercator/{z}/{x}/{y}.png", process, every))
        for target in targets:
            bench.warm(target)
        started = time.monotonic()
        for round_number in range(args.rounds):
            for target in targets:
                bench.round(target, round_number)
            print(f"round {round_number + 1}/{args.rounds} done ({time.monotonic() - started:.0f} s)", flush=True)
        mapproxy_pids = [process.pid, *targets[-1].worker_pids()]
        mapproxy_pss = sum(psutil.Process(pid).memory_full_info().pss for pid in mapproxy_pids)
        print_table(targets)
        memory = bench.memory(targets[0], args.fill)
        print(
            f"memory, MapMap {args.workers} workers each filled to >= {memory['cache sizes seen']:.0f} tiles "
            f"(fill {args.fill}, CACHE_SIZE 10000) then loaded: peak worker RSS {memory['peak worker RSS MiB']:.0f} "
            f"MiB, peak instance PSS {memory['peak instance PSS MiB']:.0f} MiB (limit {MEMORY_LIMIT_MIB} MiB); "
            f"MapProxy instance PSS {mapproxy_pss / 2**20:.0f} MiB (file cache on disk)"
        )
        if not args.no_mbtiles:
            cache_dir, mbtiles_port = work / "mbtiles-cache", free_port()
            (work / "prom-mbtiles").mkdir()
            mbtiles_env = {**env, "CACHE_BACKEND": "mbtiles", "CACHE_PATH": str(cache_dir),
                           "PROMETHEUS_MULTIPROC_DIR": str(work / "prom-mbtiles")}  # fmt: skip
            process = start([*serve, "--port", str(mbtiles_port)], mbtiles_port, env=mbtiles_env, cwd=work)
            procs.append(process)
            mbtiles = Target("MapMap+mbtiles", mbtiles_port, "/tiles/{layer}/{z}/{x}/{y}.png", process, ())
            bench.warm(mbtiles)
            print_shared_memory(mbtiles, bench.memory(mbtiles, args.shared_fill, lambda: mbtiles_tiles(cache_dir)))
            process.terminate()  # its workers' memory is not the other scenarios' business
        if redis_server is not None and redis_server.process is not None:
            url, redis_target = redis_server.url, next(t for t in targets if t.name == "MapMap+redis")
            with RssSampler(redis_server.process.pid) as redis_sampler:
                memory = bench.memory(redis_target, args.shared_fill, lambda: redis_tiles(url))
            redis_rss = max(redis_sampler.peaks.values(), default=0) / 2**20
            print_shared_memory(redis_target, memory, f"; redis-server peak RSS {redis_rss:.0f} MiB (separate)")
    finally:
        for process in reversed(procs):
            process.terminate()
        for process in procs:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis_server is not None:
            redis_server.stop()


def print_shared_memory(target: Target, memory: dict[str, float], extra: str = "") -> None:
    print(
        f"memory, {target.name} instance filled to {memory['cache sizes seen']:.0f} tiles, then loaded "
        f"(holding {memory['tiles after the load']:.0f}): "
        f"peak worker RSS {memory['peak worker RSS MiB']:.0f} MiB, peak instance PSS "
        f"{memory['peak instance PSS MiB']:.0f} MiB (limit {MEMORY_LIMIT_MIB} MiB){extra}",
        flush=True,
    )


if __name__ == "__main__":
    main()
