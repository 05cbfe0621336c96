from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """`shared/` sits beside the repository root; worktrees fall back to /work/shared."""
    candidates = [os.environ.get("FLOTILLA_SHARED"), REPO_ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data").is_dir():
            return Path(candidate)
    raise RuntimeError("shared data not found: set FLOTILLA_SHARED to the folder holding data/")


@pytest.fixture(scope="session")
def histories_dir() -> Path:
    return shared_dir() / "data" / "histories"


# -- the HTTP layer: apps over two real redis-server nodes -----------------------------------------

TEST_SECRET = "q7Vw!2xLk9#Rt5@pZm8$Hn3^Bc6&Jd4*Fs1"  # a shared SECRET_KEY so tokens verify on every app


@asynccontextmanager
async def lifespan_of(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (httpx.ASGITransport does not) around the block."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


@dataclass
class RunningApp:
    app: Any
    client: httpx.AsyncClient
    settings: Any

    @property
    def runtime(self) -> Any:
        # the FastAPI app sits inside servicekit's middleware chain
        inner = self.app
        while not hasattr(inner, "state") or not hasattr(inner.state, "runtime"):
            inner = inner.app
        return inner.state.runtime


@pytest.fixture
def redis_nodes(redis_server_factory: Any) -> dict[str, Any]:
    """db_g1 and db_g2: two real redis-server processes with AOF on."""
    return {name: redis_server_factory(name, appendonly=True) for name in ("db_g1", "db_g2")}


@pytest.fixture
async def make_app(redis_nodes: dict[str, Any]) -> AsyncIterator[Callable[..., Awaitable[RunningApp]]]:
    """Start capstore (create_app + Settings, lifespan running) in `mode` over the two nodes."""
    from capstore.app import create_app
    from capstore.config import Settings

    stack = AsyncExitStack()

    async def make(mode: str = "cp", *, client_address: str = "127.0.0.1", **overrides: Any) -> RunningApp:
        options: dict[str, Any] = {
            "MODE": mode,
            "DB_G1_URL": redis_nodes["db_g1"].url,
            "DB_G2_URL": redis_nodes["db_g2"].url,
            "SECRET_KEY": TEST_SECRET,
            "RATE_LIMIT_ENABLED": False,
            "ENABLE_REQUEST_LOGGING": False,
            "NETWORK_TIMEOUT_SEC": 0.3,
            "BREAKER_RECOVERY_TIMEOUT": 1.0,
            "ANTI_ENTROPY_INTERVAL_SEC": 0.5,
            **overrides,
        }
        settings = Settings(**options)
        app = create_app(settings)
        await stack.enter_async_context(lifespan_of(app))
        transport = httpx.ASGITransport(app=app, client=(client_address, 40000))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=10)
        )
        return RunningApp(app, client, settings)

    yield make
    await stack.aclose()


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse an exposition with prometheus_client's own parser: (sample name, sorted labels) → value."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def parse_metrics() -> Callable[[str], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    return metric_samples


@dataclass
class ServedPair:
    cp: str
    ap: str
    logs: dict[str, Path]


@pytest.fixture
def served_pair(redis_nodes: dict[str, Any], tmp_path: Path) -> Iterator[ServedPair]:
    """`capstore serve --mode cp` and `--mode ap` as the fleet runs them (real uvicorn processes),
    each pointing its console at the other."""
    from servicekit.local import free_port, wait_for_port

    ports = {"cp": free_port(), "ap": free_port()}
    processes = []
    logs = {}
    base_env = {k: v for k, v in os.environ.items() if k not in ("PORT", "MODE", "SECRET_KEY", "ADMIN_TOKEN")}
    try:
        for mode, other in (("cp", "ap"), ("ap", "cp")):
            env = base_env | {
                "DB_G1_URL": redis_nodes["db_g1"].url,
                "DB_G2_URL": redis_nodes["db_g2"].url,
                "SECRET_KEY": TEST_SECRET,
                "NETWORK_TIMEOUT_SEC": "0.3",
                "BREAKER_RECOVERY_TIMEOUT": "1",
                "CONSOLE_PEER_URL": f"http://127.0.0.1:{ports[other]}",
                "LOG_FORMAT": "json",
            }
            logs[mode] = tmp_path / f"{mode}.log"
            with logs[mode].open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "capstore.cli",
                            "serve",
                            "--mode",
                            mode,
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(ports[mode]),
                        ],
                        cwd=tmp_path,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for port in ports.values():
            wait_for_port(port, timeout=20)
        yield ServedPair(f"http://127.0.0.1:{ports['cp']}", f"http://127.0.0.1:{ports['ap']}", logs)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


class ThreadedServer:
    """A real uvicorn server (lifespan on) for an ASGI app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn
        from servicekit.local import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadedServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def threaded_app(redis_nodes: dict[str, Any]) -> Iterator[Callable[..., ThreadedServer]]:
    """Serve capstore apps over the two nodes with real uvicorn servers in threads."""
    from capstore.app import create_app
    from capstore.config import Settings

    servers: list[ThreadedServer] = []

    def start(mode: str = "ap", **overrides: Any) -> ThreadedServer:
        settings = Settings(
            MODE=mode,
            DB_G1_URL=redis_nodes["db_g1"].url,
            DB_G2_URL=redis_nodes["db_g2"].url,
            SECRET_KEY=TEST_SECRET,
            RATE_LIMIT_ENABLED=False,
            ENABLE_REQUEST_LOGGING=False,
            **overrides,
        )
        server = ThreadedServer(create_app(settings)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
