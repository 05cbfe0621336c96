"""The upstream process is SIGKILLed under concurrent load: MapMap answers every request with a tile
(fresh or stale) or a clear 502/503/504, never 500, never later than its timeouts allow; the breaker
opens, and closes again once the upstream is back."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mapmap.app import create_app
from mapmap.config import Settings
from servicekit.local import free_port, wait_for_port

from ..conftest import metric_value, write_upstreams

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
# connect, one jittered retry, connect again, read: the longest an upstream problem can hold a request
WORST_CASE = 2 * CONNECT_TIMEOUT + 0.25 + READ_TIMEOUT
WARM = [(10, 582 + i, 300) for i in range(6)]


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mapmap.demo_upstream", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port(port, timeout=30)
    return process


def _settings(tmp_path: Path, port: int, **overrides: object) -> Settings:
    """MapMap on the demo upstream at `port`, with short upstream timeouts and a 3-failure breaker."""
    return Settings(
        UPSTREAMS_FILE=write_upstreams(tmp_path / "u.json", f"http://127.0.0.1:{port}"),
        DEMO_UPSTREAM=False, ENABLE_REQUEST_LOGGING=False,
        UPSTREAM_CONNECT_TIMEOUT=CONNECT_TIMEOUT, UPSTREAM_READ_TIMEOUT=READ_TIMEOUT,
        BREAKER_FAILURE_THRESHOLD=3, **overrides,
    )  # fmt: skip


async def test_upstream_killed_mid_load(tmp_path: Path) -> None:
    port = free_port()
    upstream = start_upstream(port)
    settings = _settings(tmp_path, port, BREAKER_RECOVERY_TIMEOUT=1.0, CACHE_TTL=1, CACHE_SWR=0)
    app = create_app(settings)
    results: list[tuple[str, int, float, httpx.Response]] = []
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30
        ) as client:
            for z, x, y in WARM:
                assert (await client.get(f"/tiles/demo/{z}/{x}/{y}.png")).status_code == 200
            await asyncio.sleep(1.1)  # warm tiles are now past their TTL: stale, refetched on request

            cold = itertools.count()
            stop_at = time.monotonic() + 3.0

            async def worker(number: int) -> None:
                for turn in itertools.count():
                    if time.monotonic() > stop_at:
                        return
                    if turn % 2:
                        z, x, y = WARM[(number + turn) % len(WARM)]
                        path, kind = f"/tiles/demo/{z}/{x}/{y}.png", "warm"
                    else:
                        n = next(cold)
                        endpoint = "demo-lks92" if n % 4 == 3 else "demo"
                        path, kind = f"/tiles/{endpoint}/12/{n % 4096}/{1200 + number}.png", "cold"  # 503s come fast
                    started = time.monotonic()
                    response = await client.get(path)
                    results.append((kind, response.status_code, time.monotonic() - started, response))

            async def kill_soon() -> None:
                await asyncio.sleep(0.7)
                upstream.kill()
                upstream.wait()

            await asyncio.gather(kill_soon(), *(worker(i) for i in range(8)))
            outage_metrics = (await client.get("/metrics")).text

            upstream = start_upstream(port)
            deadline = time.monotonic() + 10
            while True:  # the breaker lets a probe through after its recovery timeout, then closes
                recovered = await client.get(f"/tiles/demo/12/{next(cold) % 4096}/1500.png")
                if recovered.status_code == 200 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert recovered.status_code == 200, (recovered.url, recovered.text)
            recovered_metrics = (await client.get("/metrics")).text
    finally:
        upstream.kill()
        upstream.wait()

    statuses = [status for _, status, _, _ in results]
    assert len(results) >= 40
    assert set(statuses) <= {200, 502, 503, 504}, sorted(set(statuses))
    assert max(elapsed for _, _, elapsed, _ in results) < WORST_CASE + 1.0  # no hang past the timeouts
    for _, status, _, response in results:
        if status != 200:
            body = response.json()
            assert body["error"] in ("upstream_error", "bad_upstream_response", "upstream_timeout",
                                     "upstream_unavailable"), body  # fmt: skip
            assert "demo" in body["detail"]
        if status == 503:
            assert int(response.headers["retry-after"]) >= 1
    assert 503 in statuses  # the breaker opened
    assert all(status == 200 for kind, status, _, _ in results if kind == "warm")  # stale beats an error
    assert metric_value(outage_metrics, "mapmap_stale_served_total", endpoint="demo", reason="error") > 0
    assert metric_value(outage_metrics, "mapmap_circuit_breaker_state", breaker="upstream:demo") == 2
    assert metric_value(recovered_metrics, "mapmap_circuit_breaker_state", breaker="upstream:demo") == 0


async def test_upstream_frozen_mid_load_answers_504_then_503_within_the_timeouts(tmp_path: Path) -> None:
    """SIGSTOP: connections are accepted but never answered, so only the read timeout ends them."""
    port = free_port()
    upstream = start_upstream(port)
    settings = _settings(tmp_path, port, BREAKER_RECOVERY_TIMEOUT=30.0)
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30
        ) as client:
            assert (await client.get("/tiles/demo/10/580/300.png")).status_code == 200  # capabilities loaded
            upstream.send_signal(signal.SIGSTOP)

            async def timed(x: int) -> tuple[int, float, httpx.Response]:
                started = time.monotonic()
                response = await client.get(f"/tiles/demo/11/{x}/600.png")
                return response.status_code, time.monotonic() - started, response

            frozen = await asyncio.gather(*(timed(1100 + i) for i in range(6)))
            after = await asyncio.gather(*(timed(1200 + i) for i in range(6)))
            metrics = (await client.get("/metrics")).text
    finally:
        upstream.send_signal(signal.SIGCONT)
        upstream.kill()
        upstream.wait()
    assert {status for status, _, _ in frozen} == {504}
    assert all(response.json()["error"] == "upstream_timeout" for _, _, response in frozen)
    assert max(elapsed for _, elapsed, _ in frozen) < READ_TIMEOUT + 1.0  # the read timeout, not a hang
    assert {status for status, _, _ in after} == {503}  # the breaker opened on the timeouts
    assert max(elapsed for _, elapsed, _ in after) < READ_TIMEOUT  # and answers without waiting for the upstream
    assert metric_value(metrics, "mapmap_circuit_breaker_state", breaker="upstream:demo") == 2
    assert metric_value(metrics, "mapmap_upstream_errors_total", upstream="demo", kind="timeout") >= 3
