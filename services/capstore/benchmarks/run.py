"""capstore in one run: raw redis-py vs app_ap vs app_cp, convergence after a partition, breaker reaction.

Starts db_g1 and db_g2 (redis-server with AOF) and four `capstore serve` processes (uvicorn, one
worker each): app_cp and app_ap talking to the nodes directly (as in production) for throughput,
and app_cp and app_ap behind their own fault proxies (the development default) for the fault runs.

- the apps run the production envelope as served (rate limits on, JSON access log and WRITE log at
  INFO, to /dev/null), uvicorn with uvloop and httptools, one worker unless stated;
- throughput: redis-py (asyncio, N concurrent clients) SET/GET on one node (SET alternating with
  app_ap writes for `--rounds`, medians), capstore's RedisNode
  (the AP write script without HTTP), then wrk against each app's seed API (N connections), and
  each app with one connection for latency without queueing; ops/s, p50, p99;
- convergence: db_g2 partitioned (blackhole) from app_ap for 10 s while it takes writes; after the
  heal, time until db_g2 holds every write, and until app_ap no longer reports db_g1 as stale;
- breaker: writes to app_cp while db_g2 is killed (drop) or partitioned (blackhole): time until
  the breaker is OPEN and writes are refused in < 10 ms; after the heal, time until it is CLOSED;
- memory: RSS of every app process at the end.

    uv run python services/capstore/benchmarks/run.py [--seconds 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis.asyncio as redis
from capstore.node import RedisNode
from capstore.records import Record
from capstore.versioning import HybridClock
from servicekit.local import RedisServer, free_port, wait_for_port

HERE = Path(__file__).resolve().parent
SECRET = secrets.token_hex(32)  # one run, one key: session tokens only need to verify within it
_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

WRITE_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/write/k" .. (counter % 1000) .. "/value-" .. counter)
end
"""
READ_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/read/k" .. (counter % 1000))
end
"""


def wrk(url: str, seconds: int, connections: int, script: Path) -> dict[str, float]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in _LATENCY.findall(out)}
    bad = int(errors[1]) if errors else 0
    return {"ops": rate * (1 - bad / max(total, 1)), "p50_ms": latency["50"], "p99_ms": latency["99"], "errors": bad}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def raw_redis(url: str, seconds: float, connections: int, op: str) -> dict[str, float]:
    client = redis.Redis.from_url(url, max_connections=connections)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            key = f"raw:k{(n * 7919 + i) % 1000}"
            started = time.perf_counter()
            if op == "set":
                await client.set(key, f"value-{i}")
            else:
                await client.get(key)
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    await client.aclose()
    return {
        "ops": len(latencies) / elapsed,
        "cpu_us_per_op": cpu / max(len(latencies), 1) * 1e6,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


async def core_writes(url: str, seconds: float, connections: int) -> dict[str, float]:
    """The AP write (version-guarded Lua + replication-log append) through RedisNode, no HTTP."""
    node = RedisNode("db_g1", url.replace("/0", "/5"), timeout_s=2.0)
    clock = HybridClock("bench")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await node.write(f"k{(n * 7919 + i) % 1000}", Record(f"value-{i}", clock.now().encode()), log=True)
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    await node.close()
    return {
        "ops": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


class App:
    def __init__(
        self, mode: str, nodes: dict[str, RedisServer], workdir: Path, *, faults: bool, workers: int = 0
    ) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "MODE")} | {
            "DB_G1_URL": nodes["db_g1"].url,
            "DB_G2_URL": nodes["db_g2"].url,
            "SECRET_KEY": SECRET,
            # The production envelope, as served: both rate limits on (raised so the load passes),
            # the JSON access log and the WRITE audit log at INFO (to /dev/null: no disk in the way).
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_REQUESTS": str(10**9),
            "RATE_LIMIT_PER_MINUTE": str(10**9),
            "ENABLE_REQUEST_LOGGING": "true",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "ENABLE_FAULT_ADMIN": "true" if faults else "false",
            "NETWORK_TIMEOUT_SEC": "0.5",
        }
        # workers > 0: production serving (gunicorn + uvicorn workers, each with its own coordinator)
        production = ["--production", "--workers", str(workers)] if workers else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "capstore.cli", "serve", "--mode", mode, "--host", "127.0.0.1",
             "--port", str(self.port), *production],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, timeout=30)
        # gunicorn binds before its workers are up: wait until the app answers, then warm it up
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        for i in range(200):
            httpx.post(f"{self.url}/write/warm{i % 10}/{i}", timeout=5)

    def cpu_seconds(self) -> float:
        parent = psutil.Process(self.process.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])

    def wrk(self, seconds: int, connections: int, script: Path) -> dict[str, float]:
        """wrk against this app, with the app's own CPU time per answered request."""
        before = self.cpu_seconds()
        result = wrk(self.url, seconds, connections, script)
        result["cpu_us_per_op"] = (self.cpu_seconds() - before) / max(result["ops"] * seconds, 1) * 1e6
        return result

    def rss_mib(self) -> float:
        """The largest process (the uvicorn process, or the biggest gunicorn worker)."""
        parent = psutil.Process(self.process.pid)
        return max(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


async def convergence(ap: App, nodes: dict[str, RedisServer], partition_s: float) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=ap.url, timeout=10) as client:
        await client.post("/admin/faults/db_g2", json={"mode": "blackhole"})
        written: dict[str, str] = {}
        deadline = time.monotonic() + partition_s
        i = 0
        while time.monotonic() < deadline:
            reply = await client.post(f"/write/part{i % 500}/v{i}")
            assert reply.status_code == 200, reply.text
            written[f"part{i % 500}"] = reply.json()["version"]
            i += 1
        cluster = (await client.get("/cluster")).json()
        staleness_before = cluster["nodes"][0]["staleness_ms"]
        healed = time.monotonic()
        await client.post("/admin/heal")
        g2 = RedisNode("db_g2", nodes["db_g2"].url.replace("/0", "/1"))
        converged = fresh = None
        while converged is None or fresh is None:
            now = time.monotonic()
            if now - healed > 30:
                raise RuntimeError("no convergence within 30 s")
            if converged is None:
                records = await g2.records(sorted(written))
                if {k: r.version for k, r in records.items()} == written:
                    converged = now - healed
            if fresh is None:
                nodes_state = (await client.get("/cluster")).json()["nodes"]
                if not any(node["stale"] for node in nodes_state):
                    fresh = now - healed
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.5)  # let the replicators acknowledge and trim
        g1 = RedisNode("db_g1", nodes["db_g1"].url.replace("/0", "/1"))
        log_left = await g1.log_length()
        await g1.close()
        await g2.close()
    return {
        "writes_during_partition": i,
        "staleness_at_heal_ms": staleness_before,
        "converged_ms": converged * 1000,
        "not_stale_ms": fresh * 1000,
        "log_entries_left": log_left,
    }


async def breaker_reaction(cp: App, fault: str) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=cp.url, timeout=10) as client:
        assert (await client.post("/write/b/ok")).status_code == 200
        injected = time.monotonic()
        await client.post("/admin/faults/db_g2", json={"mode": fault})
        opened = fast = None
        failed = 0
        while fast is None:
            started = time.monotonic()
            reply = await client.post(f"/write/b/{failed}")
            took = time.monotonic() - started
            assert reply.status_code == 503
            failed += 1
            state = (await client.get("/circuit-breaker")).json()["nodes"]["db_g2"]["state"]
            if opened is None and state == "OPEN":
                opened = time.monotonic() - injected
            if opened is not None and took < 0.01:
                fast = took
        healed = time.monotonic()
        await client.post("/admin/heal")
        while True:
            if (await client.post("/write/b/again")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        recovered = time.monotonic() - healed
        state = (await client.get("/circuit-breaker")).json()["nodes"]["db_g2"]["state"]
    return {
        "refusals_before_open": failed - 1,
        "open_after_ms": opened * 1000,
        "fast_refusal_ms": fast * 1000,
        "writes_again_after_heal_ms": recovered * 1000,
        "state_after": state,
    }


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def row(name: str, result: dict[str, float]) -> str:
    return (
        f"  {name:<34} {result['ops']:>9.0f} ops/s   p50 {result['p50_ms']:>6.2f} ms   p99 {result['p99_ms']:>6.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--partition", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of raw SET vs app_ap write")
    parser.add_argument("--quick", action="store_true", help="a short sanity run: 2 s per load, 3 s partition")
    parser.add_argument("--throughput-only", action="store_true", help="skip the convergence and breaker runs")
    options = parser.parse_args()
    if options.quick:
        options.seconds, options.partition, options.rounds = 2, 3.0, 1
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="capstore-bench-") as temp:
        workdir = Path(temp)
        nodes = {n: RedisServer(directory=workdir / n, appendonly=True).start() for n in ("db_g1", "db_g2")}
        apps: list[App] = []
        try:
            secs, conns = options.seconds, options.connections
            cp, ap = App("cp", nodes, workdir, faults=False), App("ap", nodes, workdir, faults=False)
            apps += [cp, ap]
            write_lua, read_lua = workdir / "write.lua", workdir / "read.lua"
            write_lua.write_text(WRITE_LUA)
            read_lua.write_text(READ_LUA)
            # The headline pair alternates, round after round, so machine noise hits both alike.
            raw_rounds, ap_rounds = [], []
            for _ in range(options.rounds):
                raw_rounds.append(await raw_redis(nodes["db_g1"].url, secs, conns, "set"))
                ap_rounds.append(ap.wrk(secs, conns, write_lua))
            results["raw_set"], results["ap_write"] = median_row(raw_rounds), median_row(ap_rounds)
            results["ap_write_rounds"] = [round(r["ops"]) for r in ap_rounds]
            results["raw_set_rounds"] = [round(r["ops"]) for r in raw_rounds]
            results["raw_get"] = await raw_redis(nodes["db_g1"].url, secs, conns, "get")
            results["core_ap_write"] = await core_writes(nodes["db_g1"].url, secs, conns)
            for app in (ap, cp):
                for op, script in (("write", write_lua), ("read", read_lua)):
                    if (app.mode, op) != ("ap", "write"):
                        results[f"{app.mode}_{op}"] = wrk(app.url, secs, conns, script)
                    results[f"{app.mode}_{op}_c1"] = wrk(app.url, secs, 1, script)
            results["rss_mib"] = {"cp": round(cp.rss_mib(), 1), "ap": round(ap.rss_mib(), 1)}
            for app in (cp, ap):  # a running AP app replicates too: it would heal the partition below
                app.stop()
            apps.clear()
            ap2 = App("ap", nodes, workdir, faults=False, workers=2)
            apps.append(ap2)
            results["ap_write_2w"] = wrk(ap2.url, secs, conns, write_lua)
            ap2.stop()
            apps.clear()
            if options.throughput_only:
                return _report_throughput(options, results)
            faulty_cp, faulty_ap = App("cp", nodes, workdir, faults=True), App("ap", nodes, workdir, faults=True)
            apps += [faulty_cp, faulty_ap]
            results["convergence"] = await convergence(faulty_ap, nodes, options.partition)
            results["breaker_drop"] = await breaker_reaction(faulty_cp, "drop")
            results["breaker_blackhole"] = await breaker_reaction(faulty_cp, "blackhole")
            results["rss_mib"] |= {f"{a.mode}-faults": round(a.rss_mib(), 1) for a in apps}
        finally:
            for app in apps:
                app.stop()
            for node in nodes.values():
                node.stop()

    _report_throughput(options, results)
    print(f"convergence after a {options.partition:.0f} s partition of db_g2: {results['convergence']}")
    print(f"breaker, db_g2 killed (connection refused): {results['breaker_drop']}")
    print(f"breaker, db_g2 partitioned (timeouts of 0.5 s): {results['breaker_blackhole']}")
    print(f"RSS per app process (MiB): {results['rss_mib']}")
    (HERE / "last-run.json").write_text(json.dumps(results, indent=2))


def _report_throughput(options: argparse.Namespace, results: dict[str, Any]) -> None:
    print(
        f"\nthroughput ({options.connections} concurrent clients, {options.seconds} s each, loopback, 2 cores shared;"
        f" raw SET and app_ap write: medians of {options.rounds} alternating rounds)"
    )
    for name, key in [("raw redis-py SET", "raw_set"), ("raw redis-py GET", "raw_get"),
                      ("RedisNode AP write (no HTTP)", "core_ap_write"),
                      ("app_ap write  POST /write", "ap_write"), ("app_ap read   GET /read", "ap_read"),
                      ("app_cp write  POST /write", "cp_write"), ("app_cp read   GET /read", "cp_read"),
                      ("app_ap write, 1 connection", "ap_write_c1"), ("app_cp write, 1 connection", "cp_write_c1"),
                      ("app_cp read, 1 connection", "cp_read_c1"),
                      ("app_ap write, gunicorn 2 workers", "ap_write_2w")]:  # fmt: skip
        print(row(name, results[key]))
    ratios = {
        "app_ap write / raw SET": results["ap_write"]["ops"] / results["raw_set"]["ops"],
        "app_ap write (2 workers) / raw SET": results["ap_write_2w"]["ops"] / results["raw_set"]["ops"],
        "app_ap read / raw GET": results["ap_read"]["ops"] / results["raw_get"]["ops"],
        "app_cp write / raw SET": results["cp_write"]["ops"] / results["raw_set"]["ops"],
        "app_cp read / raw GET": results["cp_read"]["ops"] / results["raw_get"]["ops"],
        "app_ap write / RedisNode AP write": results["ap_write"]["ops"] / results["core_ap_write"]["ops"],
        "app_cp write / app_ap write": results["cp_write"]["ops"] / results["ap_write"]["ops"],
    }
    results["ratios"] = ratios
    print("ratios")
    for name, value in ratios.items():
        print(f"  {name:<34} {value:6.1%}")
    raw_cpu, ap_cpu = results["raw_set"]["cpu_us_per_op"], results["ap_write"]["cpu_us_per_op"]
    print(
        f"  CPU per op: raw redis-py SET client {raw_cpu:.0f} µs, app_ap process per POST /write {ap_cpu:.0f} µs"
        f" -> CPU-bound ratio {raw_cpu / ap_cpu:6.1%} (robust to a loaded machine; redis-server and wrk excluded)"
    )
    # each round's pair ran back to back: their ratio is the least disturbed by the machine's drift
    paired = [ap / raw for raw, ap in zip(results["raw_set_rounds"], results["ap_write_rounds"], strict=True)]
    results["ap_write_paired_ratios"] = [round(ratio, 4) for ratio in paired]
    print(f"  rounds: raw SET {results['raw_set_rounds']} ops/s, app_ap write {results['ap_write_rounds']} ops/s")
    print(
        f"  app_ap write / raw SET per round: {', '.join(f'{ratio:.1%}' for ratio in paired)};"
        f" median {statistics.median(paired):.1%}"
    )


if __name__ == "__main__":
    asyncio.run(main())
