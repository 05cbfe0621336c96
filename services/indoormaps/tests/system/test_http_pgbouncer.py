"""The service through a real PgBouncer in transaction mode, connected as the read-only role:
streams (with resume), routes and OGC pages work, and 40 concurrent SSE clients never use more
server connections than PgBouncer's pool."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from indoormaps_http_support import Service, SseReader, cli_binary, demo_database
from servicekit.local import free_port, wait_for_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

READER, READER_PASSWORD = "indoormaps_reader", "reader-local-only"
SERVER_POOL = 3


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    def dsn(self, database: str) -> str:
        return f"postgresql://{READER}:{READER_PASSWORD}@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def bouncer_dsn(postgres_server) -> str:  # type: ignore[no-untyped-def]
    dsn = demo_database(postgres_server, "indoormaps_bouncer")
    postgres_server.psql(
        f"DO $$ BEGIN CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    result = subprocess.run(
        [cli_binary(), "grant-reader", READER, "--database-url", dsn], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dsn


@pytest.fixture(scope="module")
def pgbouncer(postgres_server) -> Iterator[PgBouncer]:  # type: ignore[no-untyped-def]
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    assert Path(binary).exists(), "pgbouncer is not installed (apt-get install pgbouncer)"
    directory = Path(tempfile.mkdtemp(prefix="flotilla-pgbouncer-"))
    os.chmod(directory, 0o755)  # noqa: S103 - pgbouncer runs as the postgres user and must enter it
    port = free_port()
    (directory / "userlist.txt").write_text(f'"{READER}" "{READER_PASSWORD}"\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
indoormaps_bouncer = host=127.0.0.1 port={postgres_server.port} dbname=indoormaps_bouncer

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = {SERVER_POOL}
min_pool_size = 0
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""
    )
    args = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        entry = pwd.getpwnam("postgres")
        for path in directory.iterdir():
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        args = ["runuser", "-u", "postgres", "--", *args]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=10)
        yield PgBouncer(port, process, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def bounced(pgbouncer: PgBouncer, bouncer_dsn: str, service_factory: Callable[..., Service]) -> Service:
    # The app's own pool is larger than PgBouncer's server pool on purpose.
    return service_factory(pgbouncer.dsn("indoormaps_bouncer"), POOL_MAX="20", POOL_TIMEOUT="5")


def _ids(url: str, headers: dict[str, str] | None = None, stop_after: int | None = None) -> tuple[list[str], str]:
    ids: list[str] = []
    last = ""
    with httpx.stream("GET", url, headers=headers or {}, timeout=60) as response:
        assert response.status_code == 200, response.read()
        batches = 0
        for event in SseReader(response.iter_lines()):
            if event.event == "batch":
                ids += [f["id"] for f in event.json()["features"]]
                last = event.id or ""
                batches += 1
                if stop_after is not None and batches == stop_after:
                    break
            assert event.event != "error", event.data
    return ids, last


def test_stream_route_and_ogc_through_pgbouncer(bounced: Service, bouncer_dsn: str) -> None:
    assert httpx.get(f"{bounced.url}/ready").json()["status"] == "pass"
    everything, _ = _ids(f"{bounced.url}/api/rooms/?batch_size=60")
    assert len(everything) == len(set(everything)) == 443
    head, last = _ids(f"{bounced.url}/api/rooms/?batch_size=60", stop_after=2)
    tail, _ = _ids(f"{bounced.url}/api/rooms/?batch_size=60", headers={"Last-Event-ID": last})
    assert head + tail == everything
    with psycopg.connect(bouncer_dsn) as conn:
        a, b = (
            str(r[0])
            for r in conn.execute(
                "SELECT imdf_id FROM indoor_unit u JOIN indoor_data_version v ON v.id = u.version_id AND v.is_current "
                "WHERE name IN ('Classroom 104', 'Classroom 404a') ORDER BY name LIMIT 2"
            ).fetchall()
        )
    route = httpx.post(
        f"{bounced.url}/api/route/", json={"from": {"room": a}, "to": {"room": b}, "profile": "step_free"}
    )
    assert route.status_code == 200, route.text
    assert route.json()["total_m"] > 20
    items = httpx.get(f"{bounced.url}/ogc/collections/levels/items").json()
    assert items["numberReturned"] == 8
    # The service's role cannot write, and its timeouts hold on pooled connections too.
    with psycopg.connect(bounced.dsn, prepare_threshold=None) as reader:
        assert reader.execute("SHOW statement_timeout").fetchone() == ("5s",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("DELETE FROM indoor_unit")


def test_forty_sse_clients_share_pgbouncers_three_server_connections(bounced: Service, postgres_server) -> None:  # type: ignore[no-untyped-def]
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        with psycopg.connect(postgres_server.dsn("postgres"), autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'indoormaps_bouncer' AND usename = %s",
                    (READER,),
                ).fetchone()
                peak = max(peak, int(row[0]) if row else 0)
                time.sleep(0.005)

    results: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        ids, _ = _ids(f"{bounced.url}/api/layers/openings/stream?batch_size=50")
        assert len(ids) == len(set(ids))
        with lock:
            results.append(len(ids))

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [threading.Thread(target=client) for _ in range(40)]
    started = time.perf_counter()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    assert results == [472] * 40
    assert 1 <= peak <= SERVER_POOL
    print(f"\nPGBOUNCER 40 concurrent SSE clients: {elapsed * 1000:.0f} ms, peak server connections {peak}")
