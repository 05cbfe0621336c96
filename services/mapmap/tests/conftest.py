"""Shared paths: the workspace's third-party data lives in the `shared` folder next to the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    if os.environ.get("FLOTILLA_SHARED"):
        return Path(os.environ["FLOTILLA_SHARED"])
    sibling = REPO_ROOT.parent / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


WMTS_DATA = shared_dir() / "data" / "wmts"


@pytest.fixture(scope="session")
def capabilities_dir() -> Path:
    folder = WMTS_DATA / "capabilities"
    assert folder.is_dir(), f"WMTS capabilities data missing at {folder}"
    return folder


SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "ogc-schemas"


@pytest.fixture(scope="session")
def wmts_schema():  # type: ignore[no-untyped-def]
    """The WMTS 1.0 GetCapabilities response schema, loaded offline (no network, no DTDs)."""
    from lxml import etree

    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    document = etree.parse(str(SCHEMAS / "wmts" / "1.0" / "wmtsGetCapabilities_response.xsd"), parser)
    return etree.XMLSchema(document)


class ThreadedServer:
    """A real uvicorn server for an ASGI app on a free loopback port, in a background thread."""

    def __init__(self, app, port: int | None = None) -> None:  # type: ignore[no-untyped-def]
        import threading

        import uvicorn
        from servicekit.local import free_port

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadedServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def demo_server():  # type: ignore[no-untyped-def]
    """The demo WMTS upstream on loopback for the whole session (state reset per test by `upstream`)."""
    from mapmap.demo_upstream import DemoUpstream

    state = DemoUpstream()
    server = ThreadedServer(state.app()).start()
    yield state, server
    server.stop()


@pytest.fixture
def upstream(demo_server):  # type: ignore[no-untyped-def]
    state, server = demo_server
    state.reset()
    yield state, server.url
    state.reset()


def write_upstreams(path: Path, upstream_url: str, **extra: object) -> Path:
    import json

    capabilities = f"{upstream_url}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
    endpoints = [
        {"name": "demo", "capabilities_url": capabilities, "layer": "demo", "tile_matrix_set": "WebMercatorQuad",
         **extra},
        {"name": "demo-lks92", "capabilities_url": capabilities, "layer": "demo", "tile_matrix_set": "LKS92", **extra},
    ]  # fmt: skip
    path.write_text(json.dumps({"endpoints": endpoints}))
    return path


@pytest.fixture
def make_client(tmp_path: Path, upstream):  # type: ignore[no-untyped-def]
    """Build MapMap (create_app + Settings) against the demo upstream; returns an httpx client."""
    import httpx
    from mapmap.app import create_app
    from mapmap.config import Settings

    clients = []

    def make(endpoint_extra: dict[str, object] | None = None, **overrides: object) -> httpx.AsyncClient:
        _, url = upstream
        upstreams = write_upstreams(tmp_path / "upstreams.json", url, **(endpoint_extra or {}))
        options = {"UPSTREAMS_FILE": upstreams, "DEMO_UPSTREAM": False, "ENABLE_REQUEST_LOGGING": False, **overrides}
        app = create_app(Settings(**options))  # type: ignore[arg-type]
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
        clients.append(client)
        return client

    return make


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample_name, _, label_text = head.partition("{")
        if sample_name != name:
            continue
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(value)
    return total


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    from servicekit.local import free_port, wait_for_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "UPSTREAMS_FILE")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mapmap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


class MapMapProcess:
    """`mapmap serve` as its own OS process (a worker of its own), configured by environment."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from servicekit.local import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if k not in ("PORT", "UPSTREAMS_FILE", "CACHE_BACKEND")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mapmap.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=cwd, env={**base, "ENABLE_REQUEST_LOGGING": "false", **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 30) -> MapMapProcess:
        from servicekit.local import wait_for_port

        wait_for_port(self.port, timeout=timeout)
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def mapmap_processes(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start MapMap processes: `mapmap_processes(n, {"CACHE_BACKEND": "redis", ...})`; all stopped afterwards."""
    started: list[MapMapProcess] = []

    def start(count: int, env: dict[str, str]) -> list[MapMapProcess]:
        batch = [MapMapProcess(tmp_path, env) for _ in range(count)]
        started.extend(batch)
        return [process.wait_ready() for process in batch]

    yield start
    for process in started:
        process.stop()
