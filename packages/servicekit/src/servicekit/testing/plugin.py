"""pytest plugin (registered through the `pytest11` entry point): fixtures that start real servers.

Any package in the workspace can ask for `redis_server` or `redis_server_factory` without importing
anything; the servers run on loopback in pytest's temporary directories and stop after the test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from servicekit.local import PostgresServer, RedisServer


@pytest.fixture
def redis_server_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start as many redis-server processes as a test needs: `redis_server_factory(appendonly=True)`."""
    started: list[RedisServer] = []

    def start(name: str | None = None, **kwargs: object) -> RedisServer:
        directory = tmp_path / (name or f"redis-{len(started)}")
        server = RedisServer(directory=directory, **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(redis_server_factory: Callable[..., RedisServer]) -> RedisServer:
    """One real redis-server on a free loopback port, stopped after the test."""
    return redis_server_factory("redis")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL 15 cluster for the whole test session (PostGIS/pgRouting installable).

    Lives in a fresh directory outside pytest's private tmp tree because the server runs as the
    `postgres` user when tests run as root.
    """
    directory = Path(tempfile.mkdtemp(prefix="flotilla-pg-"))
    os.chmod(directory, 0o755)
    server = PostgresServer(directory=directory / "cluster").start()
    yield server
    server.destroy()
    shutil.rmtree(directory, ignore_errors=True)
