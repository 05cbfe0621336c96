"""Single-flight across worker processes, through Redis and through the local lock directory (memory
cache): two real MapMap processes and the recording demo upstream on loopback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import metric_value, write_upstreams

pytestmark = [pytest.mark.slow]


async def _coalesced_and_hits(client: httpx.AsyncClient, *urls: str) -> tuple[float, float]:
    coalesced = hits = 0.0
    for url in urls:
        metrics = (await client.get(f"{url}/metrics")).text
        coalesced += metric_value(metrics, "mapmap_coalesced_waiters_total", endpoint="demo")
        hits += metric_value(metrics, "mapmap_cache_hits_total", endpoint="demo")
    return coalesced, hits


@pytest.mark.redis
async def test_one_upstream_fetch_across_processes_and_take_over_when_the_leader_dies(  # type: ignore[no-untyped-def]
    upstream, redis_server, mapmap_processes, tmp_path: Path
) -> None:
    state, url = upstream
    env = {
        "UPSTREAMS_FILE": str(write_upstreams(tmp_path / "upstreams.json", url)),
        "DEMO_UPSTREAM": "false",
        "CACHE_BACKEND": "redis",
        "CACHE_REDIS_URL": redis_server.url,
        "CACHE_LOCK_TTL": "1",
        "CACHE_LOCK_WAIT": "15",
    }
    first, second = mapmap_processes(2, env)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for process in (first, second):  # capabilities loaded in each process; not part of the herd
            assert (await client.get(f"{process.url}/tiles/demo/1/1/0.png")).status_code == 200
        _, warm_hits = await _coalesced_and_hits(client, first.url, second.url)

        # a herd of 100 on one cold tile, half on each process
        state.requests.clear()
        state.delay = 1.0
        tile = "/tiles/demo/13/4620/2420.png"
        responses = await asyncio.gather(*(client.get(f"{(first, second)[i % 2].url}{tile}") for i in range(100)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        assert len(state.tile_requests()) == 1
        coalesced, hits = await _coalesced_and_hits(client, first.url, second.url)
        # all but the one leader waited (in its process, or on the other process through Redis) or hit
        assert coalesced + (hits - warm_hits) == 99
        assert coalesced >= 50  # the other process's requests all waited: 49 in-process + its Redis waiter

        # the leader dies mid-fetch: the other process takes over once the 1 s lease runs out
        state.reset()
        state.set_fault("slow", delay=3.0, remaining=1)  # only the leader's fetch hangs
        tile = "/tiles/demo/13/4621/2420.png"
        doomed = asyncio.create_task(client.get(f"{first.url}{tile}"))
        deadline = time.monotonic() + 10
        while not state.tile_requests():
            assert time.monotonic() < deadline, "the leader never reached the upstream"
            await asyncio.sleep(0.02)
        waited_before, _ = await _coalesced_and_hits(client, second.url)
        started = time.monotonic()
        survivor = asyncio.create_task(client.get(f"{second.url}{tile}"))
        await asyncio.sleep(0.3)
        assert not survivor.done()  # it waits on the leader instead of fetching
        assert len(state.tile_requests()) == 1
        first.process.kill()
        response = await survivor
        assert response.status_code == 200
        assert response.content.startswith(b"\x89PNG")
        assert time.monotonic() - started < 2.5  # bounded by the lease, not by the hung fetch (3 s)
        assert len(state.tile_requests()) == 2  # the dead leader's fetch, then the survivor's own
        with pytest.raises(httpx.HTTPError):
            await doomed
        waited_after, _ = await _coalesced_and_hits(client, second.url)
        assert waited_after - waited_before == 1  # a cross-process waiter counts as a coalesced waiter


async def test_memory_caches_share_one_fetch_and_a_dead_leader_frees_its_lock_at_once(  # type: ignore[no-untyped-def]
    upstream, mapmap_processes, tmp_path: Path
) -> None:
    state, url = upstream
    env = {
        "UPSTREAMS_FILE": str(write_upstreams(tmp_path / "upstreams.json", url)),
        "DEMO_UPSTREAM": "false",
        "CACHE_BACKEND": "memory",
        "CACHE_LOCAL_FLIGHT": "on",  # two `mapmap serve` processes stand for two workers of one instance
        "CACHE_LOCK_DIR": str(tmp_path / "flight"),
    }
    first, second = mapmap_processes(2, env)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for process in (first, second):
            assert (await client.get(f"{process.url}/tiles/demo/1/1/0.png")).status_code == 200
        _, warm_hits = await _coalesced_and_hits(client, first.url, second.url)

        state.requests.clear()
        state.delay = 1.0
        tile = "/tiles/demo/13/4620/2420.png"
        responses = await asyncio.gather(*(client.get(f"{(first, second)[i % 2].url}{tile}") for i in range(100)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        assert len({r.headers["etag"] for r in responses}) == 1
        assert len(state.tile_requests()) == 1
        coalesced, hits = await _coalesced_and_hits(client, first.url, second.url)
        assert coalesced + (hits - warm_hits) == 99
        assert coalesced >= 50
        # the adopted tile is in the other process's own memory cache now: a hit, no fetch
        for process in (first, second):
            assert (await client.get(f"{process.url}{tile}")).status_code == 200
        assert len(state.tile_requests()) == 1

        # the leader dies mid-fetch: the kernel frees its lock, the waiter takes over at once
        state.reset()
        state.set_fault("slow", delay=3.0, remaining=1)
        tile = "/tiles/demo/13/4621/2420.png"
        doomed = asyncio.create_task(client.get(f"{first.url}{tile}"))
        deadline = time.monotonic() + 10
        while not state.tile_requests():
            assert time.monotonic() < deadline, "the leader never reached the upstream"
            await asyncio.sleep(0.02)
        survivor = asyncio.create_task(client.get(f"{second.url}{tile}"))
        await asyncio.sleep(0.3)
        assert not survivor.done()  # it waits on the leader instead of fetching
        assert len(state.tile_requests()) == 1
        killed = time.monotonic()
        first.process.kill()
        response = await survivor
        assert response.status_code == 200
        assert response.content.startswith(b"\x89PNG")
        assert time.monotonic() - killed < 2.0  # no lease to run out: well before the hung fetch's 3 s
        assert len(state.tile_requests()) == 2
        with pytest.raises(httpx.HTTPError):
            await doomed
