"""One contract for the TTL+LRU cache, run on memory and on Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as redis
from servicekit.resilience import Cache, MemoryCache, RedisCache


class Clock:
    def __init__(self) -> None:
        self.now = 50_000.0

    def __call__(self) -> float:
        return self.now


def make_cache(client: redis.Redis | None, clock: Clock, max_entries: int = 100) -> Cache:
    if client is None:
        return MemoryCache(max_entries, clock=clock)
    return RedisCache(client, prefix="test-cache", clock=clock)


async def test_set_get_delete_clear_size(redis_client: redis.Redis | None) -> None:
    cache = make_cache(redis_client, Clock())
    assert await cache.get("missing") is None
    await cache.set("a", b"\x89PNG-bytes", ttl=60)
    await cache.set("b", b"", ttl=60)
    entry = await cache.get("a")
    assert entry is not None
    assert entry.value == b"\x89PNG-bytes"
    assert (await cache.get("b")).value == b""  # type: ignore[union-attr]
    assert await cache.size() == 2
    await cache.delete("a")
    assert await cache.get("a") is None
    await cache.clear()
    assert await cache.size() == 0


async def test_entries_turn_stale_then_expire(redis_client: redis.Redis | None) -> None:
    clock = Clock()
    cache = make_cache(redis_client, clock)
    await cache.set("tile", b"v1", ttl=10, stale_ttl=20)
    clock.now += 5
    entry = await cache.get("tile")
    assert entry is not None
    assert entry.fresh(clock.now)
    assert entry.age(clock.now) == 5
    clock.now += 10
    stale = await cache.get("tile")
    assert stale is not None
    assert not stale.fresh(clock.now)  # past its TTL, still servable as stale
    assert stale.age(clock.now) == 15


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(2, clock=Clock())
    await cache.set("a", b"1", ttl=60)
    await cache.set("b", b"2", ttl=60)
    await cache.get("a")
    await cache.set("c", b"3", ttl=60)
    assert await cache.get("b") is None
    assert await cache.get("a") is not None
    assert await cache.size() == 2


async def test_memory_cache_drops_entries_after_ttl_plus_stale() -> None:
    clock = Clock()
    cache = MemoryCache(10, clock=clock)
    await cache.set("k", b"v", ttl=1, stale_ttl=1)
    clock.now += 2.01
    assert await cache.get("k") is None
    assert await cache.size() == 0


@pytest.mark.redis
async def test_redis_entries_expire_in_redis(redis_server) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        cache = RedisCache(client, prefix="exp")
        await cache.set("k", b"v", ttl=0.05, stale_ttl=0.05)
        assert 0 < await client.pttl("exp:k") <= 100
        await client.set("other-data", b"keep")
        await cache.clear()
        assert await client.get("other-data") == b"keep"  # clear() touches only its prefix
    finally:
        await client.aclose()
