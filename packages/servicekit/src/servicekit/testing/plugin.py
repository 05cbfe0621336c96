"""pytest plugin (registered through the `pytest11` entry point): fixtures that start real servers.

Any package in the workspace can ask for `redis_server` or `redis_server_factory` without importing
anything; the servers run on loopback in pytest's temporary directories and stop after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from servicekit.testing.servers import RedisServer


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
