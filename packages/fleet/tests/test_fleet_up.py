"""`flotilla up` for real: backing servers, a service, the gateway; SIGINT stops it all; data reused."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis
from servicekit.local import free_port

pytestmark = [pytest.mark.slow, pytest.mark.nginx, pytest.mark.redis, pytest.mark.postgres]


def start_fleet(data_dir: Path, gateway_port: int, base: int, fake_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "FAKE_PORT": str(fake_port)}
    return subprocess.Popen(
        [sys.executable, "-m", "fleet.cli", "up", "--data-dir", str(data_dir), "--gateway-port", str(gateway_port),
         "--backing-port-base", str(base), "--registry", "fleet_fake:registry"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_until_up(process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Flotilla is up" in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    raise TimeoutError(log.read_text())


def stop(process: subprocess.Popen[bytes]) -> tuple[int, float, list[int]]:
    children = []
    if process.poll() is None:
        children = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    return code, time.monotonic() - started, [alive for pid in children if (alive := _alive(pid))]


def _alive(pid: int) -> str | None:
    """The command line of a still-running process (zombies are dead, only not yet reaped by init)."""
    try:
        process = psutil.Process(pid)
        return None if process.status() == psutil.STATUS_ZOMBIE else " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return None


def test_fleet_starts_everything_stops_cleanly_and_reuses_data(tmp_path: Path) -> None:
    # Outside pytest's private (0700) temp tree: the cluster runs as the postgres user.
    data = Path(tempfile.mkdtemp(prefix="flotilla-fleet-test-"))
    base = free_port()
    while any(not _free(port) for port in range(base, base + 4)):
        base = free_port()
    gateway, fake = free_port(), free_port()
    log = tmp_path / "fleet.log"
    process = start_fleet(data, gateway, base, fake, log)
    try:
        wait_until_up(process, log)
        landing = httpx.get(f"http://127.0.0.1:{gateway}/").text
        assert "Fake &lt;service&gt;" in landing
        assert 'data-service="absent"' in landing
        assert "absent: not installed" in log.read_text()
        assert f"prepared with {fake}" in log.read_text()  # preparation ran before serving
        assert "fake: healthy" in log.read_text()
        proxied = httpx.get(f"http://127.0.0.1:{gateway}/fake/health").json()
        assert proxied["path"] == "/health"  # prefix stripped by the gateway
        assert proxied["redis"] == f"redis://127.0.0.1:{base + 1}/0"
        assert proxied["database"].endswith(f"@127.0.0.1:{base}/fakedb")
        shared = redis.Redis(port=base + 1)
        assert shared.ping()
        db_g1 = redis.Redis(port=base + 2)
        db_g1.set("survives", "restart")
        db_g1.execute_command("BGREWRITEAOF")
        time.sleep(1.2)  # appendfsync everysec
        pg_version = data / "postgres" / "pgdata" / "PG_VERSION"
        initialised_at = pg_version.stat().st_mtime
    finally:
        code, took, survivors = stop(process)
    assert code == 0, log.read_text()
    assert took < 30
    assert survivors == []
    assert "fleet |  stopped" in log.read_text() or "stopped" in log.read_text()

    second = start_fleet(data, gateway, base, fake, tmp_path / "fleet2.log")
    try:
        wait_until_up(second, tmp_path / "fleet2.log")
        assert redis.Redis(port=base + 2).get("survives") == b"restart"
        assert pg_version.stat().st_mtime == initialised_at  # cluster reused, not re-initialised
    finally:
        code, _, survivors = stop(second)
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0
    assert survivors == []


def _free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
