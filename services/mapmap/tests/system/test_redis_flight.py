"""RedisFlight between two tile services in one process (each its own "worker", one real Redis):
a failing leader's error reaches the waiters without a second fetch; a long fetch renews its lease."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mapmap.app import build_service
from mapmap.config import Settings
from mapmap.errors import UpstreamError

from ..conftest import write_upstreams

pytestmark = pytest.mark.redis


@pytest.fixture
async def two_workers(upstream, redis_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    _, url = upstream
    settings = Settings(
        UPSTREAMS_FILE=write_upstreams(tmp_path / "u.json", url), DEMO_UPSTREAM=False,
        CACHE_BACKEND="redis", CACHE_REDIS_URL=redis_server.url, CACHE_LOCK_TTL=0.3,
    )  # fmt: skip
    built = [build_service(settings), build_service(settings)]
    for service, _ in built:
        await service.get("demo", 1, 0, 0)  # capabilities loaded
    yield [service for service, _ in built]
    for service, client in built:
        await service.aclose()
        await client.aclose()


async def test_the_leaders_upstream_error_reaches_waiters_without_a_second_fetch(two_workers, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    state.requests.clear()
    state.delay = 0.3
    state.set_fault("error", status=500)
    a, b = two_workers
    results = await asyncio.gather(
        *(worker.get("demo", 9, 290, 150) for worker in (a, b, a, b)), return_exceptions=True
    )
    assert all(isinstance(result, UpstreamError) for result in results), results
    assert {type(result).__name__ for result in results} == {"UpstreamError"}  # 502 everywhere, not 504
    assert len(state.tile_requests()) == 1


async def test_a_fetch_longer_than_the_lease_renews_it(two_workers, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    state.requests.clear()
    state.delay = 1.2  # four leases of 0.3 s
    a, b = two_workers
    first, second = await asyncio.gather(a.get("demo", 9, 291, 150), b.get("demo", 9, 291, 150))
    assert first.status == second.status == 200
    assert first.etag == second.etag
    assert len(state.tile_requests()) == 1


async def test_a_herd_larger_than_the_redis_pool_still_makes_one_fetch(two_workers, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    state.requests.clear()
    state.delay = 0.5
    a, b = two_workers
    tiles = await asyncio.gather(*(worker.get("demo", 9, 292, 150) for worker in (a, b) for _ in range(300)))
    assert {tile.status for tile in tiles} == {200}
    assert len(state.tile_requests()) == 1  # no "too many connections" turning into fail-open fetches
