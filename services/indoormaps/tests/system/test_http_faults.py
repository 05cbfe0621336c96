"""Faults over real HTTP on a service with a one-connection pool: a blocked batch keeps the stream
alive with heartbeats, a second request gets a fast 503, an expired snapshot is a 410, and a
shutdown ends open streams inside the grace period."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable

import httpx
import psycopg
import pytest
from indoormaps.imdf.loader import _VERSIONED_TABLES
from indoormaps_http_support import Service, SseEvent, SseReader, cli_binary, demo_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def faults_dsn(postgres_server) -> str:  # type: ignore[no-untyped-def]
    return demo_database(postgres_server, "indoormaps_faults")


def _hold_the_only_connection(service: Service, dsn: str, seconds: float) -> threading.Thread:
    """Lock the nav-edge table, then send a request that blocks on it while holding a pooled connection."""
    locker = psycopg.connect(dsn)
    locker.execute("LOCK TABLE indoor_nav_edge IN ACCESS EXCLUSIVE MODE")

    def run() -> None:
        try:
            blocked = threading.Thread(
                target=httpx.get, args=(f"{service.url}/api/layers/nav-edges/",), kwargs={"timeout": 30}
            )
            blocked.start()
            time.sleep(seconds)
        finally:
            locker.rollback()
            locker.close()
        blocked.join()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)  # the blocked request has taken the connection
    return thread


def test_pool_exhaustion_is_a_fast_503(faults_dsn: str, service_factory: Callable[..., Service]) -> None:
    service = service_factory(faults_dsn, POOL_MIN="1", POOL_MAX="1", POOL_TIMEOUT="0.3")
    holder = _hold_the_only_connection(service, faults_dsn, seconds=1.5)
    started = time.perf_counter()
    busy = httpx.get(f"{service.url}/api/rooms/", params={"limit": 5}, timeout=10)
    waited = time.perf_counter() - started
    assert busy.status_code == 503
    assert busy.json()["error"] == "pool_exhausted"
    assert busy.headers["retry-after"] == "1"
    assert waited < 1.0  # POOL_TIMEOUT plus overhead: a fast refusal, not a hang
    assert httpx.get(f"{service.url}/ready", timeout=10).status_code == 503
    assert httpx.get(f"{service.url}/api/health/", timeout=10).json() == {"ok": True}  # liveness unaffected
    holder.join()
    assert httpx.get(f"{service.url}/api/rooms/", params={"limit": 5}, timeout=10).status_code == 200
    assert httpx.get(f"{service.url}/ready", timeout=10).status_code == 200


def test_waiting_stream_sends_heartbeats_and_completes(
    faults_dsn: str, service_factory: Callable[..., Service]
) -> None:
    service = service_factory(faults_dsn, POOL_MIN="1", POOL_MAX="1", POOL_TIMEOUT="5", SSE_HEARTBEAT_SECONDS="0.2")
    events: list[SseEvent] = []
    holder: threading.Thread | None = None
    # One room per batch: hundreds of short transactions, so the stream is still running when
    # another request takes the only connection and keeps it for a second.
    with httpx.stream("GET", f"{service.url}/api/rooms/?batch_size=1", timeout=30) as response:
        reader = SseReader(response.iter_lines())
        for event in reader:
            events.append(event)
            if holder is None and event.event == "batch":
                holder = _hold_the_only_connection(service, faults_dsn, seconds=1.0)
    assert holder is not None
    holder.join()
    assert reader.comments >= 3  # heartbeats while the next batch waited for a connection
    ids = [f["id"] for e in events if e.event == "batch" for f in e.json()["features"]]
    assert len(ids) == len(set(ids)) == 443
    assert events[-1].event == "end"


def test_expired_snapshot_is_410(faults_dsn: str, service_factory: Callable[..., Service], campus_dir) -> None:  # type: ignore[no-untyped-def]
    service = service_factory(faults_dsn)
    page = httpx.get(f"{service.url}/api/rooms/", params={"limit": 50}).json()
    cursor = page["next_cursor"]
    # A new import makes the cursor's version the previous one; purging it (what the next import
    # would do) leaves the cursor pointing at nothing.
    result = subprocess.run(
        [cli_binary(), "import", "imdf", str(campus_dir), "--force", "--database-url", faults_dsn],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    mid = httpx.get(f"{service.url}/api/rooms/", params={"limit": 50, "cursor": cursor})
    assert mid.status_code == 200  # the previous version is retained: the old cursor still works
    assert mid.json()["data_version"] == page["data_version"]
    with psycopg.connect(faults_dsn) as conn:
        for table in _VERSIONED_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE version_id = %s", (page["data_version"],))  # noqa: S608 - constant table names
        conn.execute("DELETE FROM indoor_data_version WHERE id = %s", (page["data_version"],))
    expired = httpx.get(f"{service.url}/api/rooms/", params={"limit": 50, "cursor": cursor})
    assert expired.status_code == 410
    assert expired.json()["error"] == "snapshot_expired"
    resumed = httpx.get(f"{service.url}/api/rooms/", headers={"Last-Event-ID": cursor})
    assert resumed.status_code == 410
    fresh = httpx.get(f"{service.url}/api/rooms/", params={"limit": 50}).json()
    assert fresh["data_version"] > page["data_version"]


def test_shutdown_ends_open_streams_quickly(faults_dsn: str, service_factory: Callable[..., Service]) -> None:
    service = service_factory(faults_dsn, GRACEFUL_TIMEOUT="10")
    events: list[SseEvent] = []
    with httpx.stream("GET", f"{service.url}/api/layers/nav-edges/stream?batch_size=1", timeout=30) as response:
        reader = SseReader(response.iter_lines())
        started = 0.0
        for event in reader:
            events.append(event)
            if len(events) == 20:
                started = time.perf_counter()
                service.process.send_signal(signal.SIGTERM)
        ended = time.perf_counter() - started
    service.process.wait(timeout=10)
    stopped = time.perf_counter() - started
    batches = [e for e in events if e.event == "batch"]
    assert 19 <= len(batches) < 3589  # cut short by the shutdown, not run to the end
    assert events[-1].event == "batch"
    assert ended < 3
    assert stopped < 8  # well inside the 10 s grace period: the stream ended itself
    assert service.process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean stop
    assert "Traceback" not in service.log_text()
