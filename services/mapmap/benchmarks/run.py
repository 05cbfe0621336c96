"""MapMap vs MapProxy 7.0, side by side in one run, on the same demo upstream and worker count.

Starts the demo WMTS upstream, MapMap (`mapmap serve --production`, gunicorn + uvicorn workers) and
MapProxy (gunicorn, its own venv created here with pip on first run, file cache in a temp dir), then
drives each with wrk on loopback (16 connections) and prints medians and ratios:

- cached hot tile (one URL), hot working set (64 tiles), cold misses (unique tiles),
- herd of 100 concurrent requests on one cold tile: upstream fetches counted, waiters' p99,
- peak RSS of MapMap's processes.

    uv run python services/mapmap/benchmarks/run.py --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from servicekit.local import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
VENV = HERE / ".mapproxy-venv"
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
HOT_SET = [(12, 2300 + i % 8, 1200 + i // 8) for i in range(64)]

MAPPROXY_YAML = """
services:
  tms:
    use_grid_names: true
    origin: nw
layers:
  - name: demo
    title: demo
    sources: [demo_cache]
caches:
  demo_cache:
    grids: [webmercator]
    sources: [demo_tiles]
    cache: {{type: file, directory: {cache}}}
sources:
  demo_tiles:
    type: tile
    grid: webmercator
    url: {upstream}/wmts/rest/demo/default/WebMercatorQuad/%(z)s/%(y)s/%(x)s.png
    http: {{client_timeout: 10}}
grids:
  webmercator:
    base: GLOBAL_WEBMERCATOR
    origin: nw
globals:
  cache: {{lock_dir: {locks}}}
"""


def ensure_mapproxy() -> Path:
    gunicorn = VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        print("creating the MapProxy venv (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "MapProxy==7.0.*", "gunicorn", "PyYAML", "Pillow"], check=True
        )
    return gunicorn


def wrk(url: str, seconds: int, script: Path | None = None) -> tuple[float, float, float, float]:
    """(req/s of 2xx/3xx answers, p50 ms, p99 ms, share of non-2xx/3xx answers)."""
    args = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(bad_match.group(1)) if bad_match else 0
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {q: float(v) * scale[u] for q, v, u in _LATENCY.findall(out)}
    good_share = 1 - bad / max(total, 1)
    return rps * good_share, lat["50"], lat["99"], 1 - good_share


def lua_paths(path: Path, paths: list[str], *, unique_from: str | None = None) -> Path:
    if unique_from is not None:
        # every request a new tile: z=16, walking columns
        path.write_text(
            "local n = math.random(0, 1000000)\n"
            "request = function()\n  n = n + 1\n"
            f'  local path = string.format("{unique_from}", n % 65536, 20000 + math.floor(n / 65536))\n'
            "  return wrk.format('GET', path)\nend\n"
        )
        return path
    items = ",".join(f'"{p}"' for p in paths)
    path.write_text(
        f"local paths = {{{items}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return path


async def herd(url: str, upstream: str, n: int = 100) -> tuple[int, float]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        await client.post(f"{upstream}/_control", json={"reset": True, "delay": 0.2})

        async def one() -> float:
            started = time.perf_counter()
            response = await client.get(url)
            response.raise_for_status()
            return (time.perf_counter() - started) * 1000

        latencies = sorted(await asyncio.gather(*(one() for _ in range(n))))
        fetched = (await client.get(f"{upstream}/_control")).json()["tile_requests"]
        await client.post(f"{upstream}/_control", json={"reset": True})
    return fetched, latencies[int(0.99 * (n - 1))] - 200.0  # overhead beyond the upstream's 200 ms


def rss_mb(process: subprocess.Popen[bytes]) -> float:
    parent = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mapmap-bench-"))
    up_port, mm_port, mp_port = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    procs: list[subprocess.Popen[bytes]] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        demo = [sys.executable, "-m", "mapmap.demo_upstream", "--port", str(up_port)]
        procs.append(subprocess.Popen(demo, **quiet))  # type: ignore[call-overload]
        wait_for_port(up_port, timeout=20)
        upstreams = work / "upstreams.json"
        upstreams.write_text(json.dumps({"endpoints": [{
            "name": "demo", "capabilities_url": f"{upstream}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities",
            "layer": "demo", "tile_matrix_set": "WebMercatorQuad"}]}))  # fmt: skip
        env = {**os.environ, "UPSTREAMS_FILE": str(upstreams), "DEMO_UPSTREAM": "false",
               "SECRET_KEY": os.urandom(24).hex(), "ALLOWED_HOSTS": "127.0.0.1", "ENABLE_REQUEST_LOGGING": "false",
               "LOG_LEVEL": "WARNING", "WORKERS": str(args.workers), "CACHE_SIZE": "10000",
               "PROMETHEUS_MULTIPROC_DIR": str(work / "prom")}  # fmt: skip
        (work / "prom").mkdir()
        mapmap = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mapmap.cli",
                "serve",
                "--production",
                "--host",
                "127.0.0.1",
                "--port",
                str(mm_port),
            ],
            env=env,
            cwd=work,
            **quiet,  # type: ignore[call-overload]
        )
        procs.append(mapmap)
        gunicorn = ensure_mapproxy()
        config = work / "mapproxy.yaml"
        config.write_text(MAPPROXY_YAML.format(cache=work / "mp-cache", locks=work / "mp-locks", upstream=upstream))
        procs.append(subprocess.Popen(
            [str(gunicorn), "-w", str(args.workers), "-b", f"127.0.0.1:{mp_port}", "--log-level", "warning",
             f"mapproxy.wsgiapp:make_wsgi_app('{config}')"], cwd=work, **quiet,  # type: ignore[call-overload]
        ))  # fmt: skip
        wait_for_port(mm_port, timeout=30)
        wait_for_port(mp_port, timeout=30)
        targets = {
            "MapMap": (f"http://127.0.0.1:{mm_port}", "/tiles/demo/{z}/{x}/{y}.png"),
            "MapProxy": (f"http://127.0.0.1:{mp_port}", "/tms/1.0.0/demo/webmercator/{z}/{x}/{y}.png"),
        }
        results: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
        peak_rss = 0.0
        for name, (base, pattern) in targets.items():
            hot = [pattern.format(z=z, x=x, y=y) for z, x, y in HOT_SET]
            for path in hot:  # warm
                httpx.get(base + path, timeout=30).raise_for_status()
            scripts = {
                "hot tile": lua_paths(work / f"{name}-one.lua", hot[:1]),
                "hot set (64)": lua_paths(work / f"{name}-set.lua", hot),
                "cold misses": lua_paths(
                    work / f"{name}-cold.lua", [], unique_from=pattern.format(z=16, x="%d", y="%d")
                ),
            }
            for label in ("hot tile", "hot set (64)"):  # every worker's cache warm before measuring
                wrk(base + "/", 2, scripts[label])
            for _ in range(args.rounds):
                for label, script in scripts.items():
                    rps, p50, p99, errors = wrk(base + "/", args.seconds, script)
                    for key, value in ((f"{label} ok req/s", rps), (f"{label} p50 ms", p50), (f"{label} p99 ms", p99),
                                       (f"{label} error %", errors * 100)):  # fmt: skip
                        results[name].setdefault(key, []).append(value)
                    if name == "MapMap":
                        peak_rss = max(peak_rss, rss_mb(mapmap))
                time.sleep(3)  # let the upstream drain what the cold phase queued
                fetched, overhead = asyncio.run(herd(base + pattern.format(z=14, x=9300 + _, y=5000), upstream))
                results[name].setdefault("herd 100 upstream fetches", []).append(fetched)
                results[name].setdefault("herd 100 waiter p99 overhead ms", []).append(overhead)
        print(f"\n{'metric':38} {'MapMap':>10} {'MapProxy':>10} {'ratio':>7}")
        for key in results["MapMap"]:
            ours, theirs = statistics.median(results["MapMap"][key]), statistics.median(results["MapProxy"][key])
            ratio = ours / theirs if theirs else float("nan")
            print(f"{key:38} {ours:10.1f} {theirs:10.1f} {ratio:7.2f}")
        print(f"{'MapMap peak RSS (all workers) MiB':38} {peak_rss:10.1f}")
    finally:
        for process in reversed(procs):
            process.terminate()
        for process in procs:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
