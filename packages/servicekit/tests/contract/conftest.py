"""Backends for the contract tests: each test runs once on memory and once on a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def redis_client(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[redis.Redis | None]:
    if backend != "redis":
        yield None
        return
    server = request.getfixturevalue("redis_server")
    client = redis.Redis.from_url(server.url)
    yield client
    await client.aclose()
