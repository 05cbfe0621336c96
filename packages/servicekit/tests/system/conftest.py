"""Start the sample apps as real server processes (uvicorn or gunicorn) on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from servicekit.local import free_port

APPS_DIR = Path(__file__).parent / "apps"
SAFE_SECRET = "4f9c2b7e1a8d3f6c0b5e9a2d7c4f1e8b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f"
BASE_ENV = {
    "SECRET_KEY": SAFE_SECRET,
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "LOG_LEVEL": "WARNING",
}


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM and wait; returns how long the exit took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        return time.monotonic() - started


def run_cli(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **env, "PYTHONPATH": str(APPS_DIR)}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None) if "PROMETHEUS_MULTIPROC_DIR" not in env else None
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "sk_sample_cli", *args],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=log_path.parent,
        start_new_session=True,
    )


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """`start_service(flavour="fastapi"|"django", production=False, **env)` → a running server."""
    started: list[ServiceProcess] = []

    def start(flavour: str = "fastapi", production: bool = False, **env: str) -> ServiceProcess:
        port = free_port()
        log_path = tmp_path / f"{flavour}-{port}.log"
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        args.append("--production" if production else "--development")
        process = run_cli(args, {**BASE_ENV, "SAMPLE_FLAVOUR": flavour, **env}, log_path)
        service = ServiceProcess(process, port, log_path)
        started.append(service)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"sample service exited with {process.returncode}:\n{service.log()}")
            try:
                if httpx.get(f"{service.url}/health", timeout=0.5).status_code == 200:
                    return service
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"sample service did not become healthy:\n{service.log()}")

    yield start
    for service in started:
        if service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(timeout=10)
