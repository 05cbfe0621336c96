"""One contract, every cache backend MapMap can run on: servicekit's MemoryCache and RedisCache
(real redis-server) and MapMap's MBTiles disk cache, exercised both directly and through the tile
service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from mapmap.app import build_service
from mapmap.cache_mbtiles import MBTilesCache
from mapmap.config import Settings
from servicekit.resilience import Cache, MemoryCache, RedisCache

from ..conftest import write_upstreams


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis), "mbtiles"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, Callable[[], Cache], Any]]:
    """(name, factory of caches sharing one store, the server or the cache directory)."""
    if request.param == "memory":
        shared = MemoryCache(100)
        yield "memory", lambda: shared, None
        return
    if request.param == "mbtiles":
        directory = tmp_path / "tiles"
        opened: list[MBTilesCache] = []

        def make_disk() -> Cache:
            opened.append(MBTilesCache(directory))  # each one is a separate "worker" on the same files
            return opened[-1]

        yield "mbtiles", make_disk, directory
        for cache in opened:
            await cache.aclose()
        return
    server = request.getfixturevalue("redis_server")
    clients: list[redis.Redis] = []

    def make() -> Cache:
        client = redis.Redis.from_url(server.url, socket_timeout=1.0, socket_connect_timeout=1.0)
        clients.append(client)
        return RedisCache(client, prefix="mapmap:test")

    yield "redis", make, server
    for client in clients:
        await client.aclose()


async def test_entries_live_for_ttl_then_stale_ttl(backend) -> None:  # type: ignore[no-untyped-def]
    _, make, _ = backend
    cache = make()
    await cache.set("k", b"\x89PNG tile", ttl=0.4, stale_ttl=0.6)
    entry = await cache.get("k")
    assert entry is not None
    assert entry.value == b"\x89PNG tile"
    assert entry.fresh(entry.stored_at + 0.1)
    await asyncio.sleep(0.5)
    stale = await cache.get("k")
    assert stale is not None
    assert not stale.fresh(time.time())  # past its TTL, still served as stale
    await asyncio.sleep(0.7)
    assert await cache.get("k") is None


async def test_size_delete_and_clear(backend) -> None:  # type: ignore[no-untyped-def]
    _, make, _ = backend
    cache = make()
    for i in range(5):
        await cache.set(f"t:{i}", bytes([i]) * 10, ttl=60)
    assert await cache.size() == 5
    await cache.delete("t:0")
    assert await cache.get("t:0") is None
    assert await cache.size() == 4
    await cache.clear()
    assert await cache.size() == 0


async def test_replicas_share_tiles_through_the_backend(backend, upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name, _, server = backend
    state, url = upstream
    overrides: dict[str, Any] = {"UPSTREAMS_FILE": write_upstreams(tmp_path / "u.json", url), "DEMO_UPSTREAM": False}
    if name == "redis":
        overrides |= {"CACHE_BACKEND": "redis", "CACHE_REDIS_URL": server.url}
    if name == "mbtiles":
        overrides |= {"CACHE_BACKEND": "mbtiles", "CACHE_PATH": server}
    first, first_redis = build_service(Settings(**overrides))
    second, second_redis = build_service(Settings(**overrides))
    if name == "memory":  # one process: both "replicas" use the same memory store
        second.cache = first.cache
    try:
        tile = await first.get("demo", 6, 36, 19)
        state.requests.clear()
        again = await second.get("demo", 6, 36, 19)
        assert again.body == tile.body
        assert again.etag == tile.etag
        assert state.tile_requests() == []
    finally:
        for service, client in ((first, first_redis), (second, second_redis)):
            await service.aclose()
            if client is not None:
                await client.aclose()


async def test_tile_entries_round_trip_between_instances(backend) -> None:  # type: ignore[no-untyped-def]
    """The tile service's own key and value shapes (image, remembered 404) read back byte for byte."""
    _, make, _ = backend
    writer, reader = make(), make()
    image = b"T" + b"0123456789abcdef" * 2 + b"\x89PNG\r\n\x1a\n tile body"
    missing = b"N" + b"fedcba9876543210" * 2
    await writer.set("t:demo:256:12:2300:1200:png", image, ttl=60, stale_ttl=60)
    await writer.set("t:demo:512:0:0:0:webp", missing, ttl=60)
    await writer.set("s:demo-lks92:LKS92:3:1:2", b"T\x89PNG source", ttl=60)
    hit = await reader.get("t:demo:256:12:2300:1200:png")
    assert hit is not None
    assert (hit.value, hit.ttl, hit.stale_ttl) == (image, 60, 60)
    negative = await reader.get("t:demo:512:0:0:0:webp")
    assert negative is not None
    assert negative.value == missing
    source = await reader.get("s:demo-lks92:LKS92:3:1:2")
    assert source is not None
    assert source.value == b"T\x89PNG source"
    assert await reader.get("t:demo:256:12:2300:1201:png") is None
    assert await reader.size() == 3
    await reader.delete("t:demo:256:12:2300:1200:png")
    assert await writer.get("t:demo:256:12:2300:1200:png") is None


@pytest.mark.redis
async def test_dead_redis_fails_open(upstream, redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = upstream
    settings = Settings(
        UPSTREAMS_FILE=write_upstreams(tmp_path / "u.json", url), DEMO_UPSTREAM=False,
        CACHE_BACKEND="redis", CACHE_REDIS_URL=redis_server.url,
    )  # fmt: skip
    service, client = build_service(settings)
    try:
        redis_server.kill()
        tile = await service.get("demo", 4, 9, 5)
        assert tile.status == 200
        assert tile.body.startswith(b"\x89PNG")
    finally:
        await service.aclose()
        await client.aclose()
