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


async def _herd_makes_one_fetch(client: httpx.AsyncClient, state, first, second) -> str:  # type: ignore[no-untyped-def]
    """A herd of 100 on one cold tile, half on each process: one upstream fetch, one answer for all."""
    for process in (first, second):  # capabilities loaded in each process; not part of the herd
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
    # all but the one leader waited (in its process, or on the other process) or hit
    assert coalesced + (hits - warm_hits) == 99
    assert coalesced >= 50  # the other process's requests all waited: 49 in-process + its cross-process waiter
    return tile


async def _leader_dies_and_the_survivor_fetches(client: httpx.AsyncClient, state, first, second) -> float:  # type: ignore[no-untyped-def]
    """The leader (first) is killed mid-fetch while second waits on it; returns how long second
    took after the kill."""
    state.reset()
    state.set_fault("slow", delay=3.0, remaining=1)  # only the leader's fetch hangs
    tile = "/tiles/demo/13/4621/2420.png"
    doomed = asyncio.create_task(client.get(f"{first.url}{tile}"))
    deadline = time.monotonic() + 10
    while not state.tile_requests():
        assert time.monotonic() < deadline, "the leader never reached the upstream"
        await asyncio.sleep(0.02)
    waited_before, _ = await _coalesced_and_hits(client, second.url)
    survivor = asyncio.create_task(client.get(f"{second.url}{tile}"))
    await asyncio.sleep(0.3)
    assert not survivor.done()  # it waits on the leader instead of fetching
    assert len(state.tile_requests()) == 1
    killed = time.monotonic()
    first.process.kill()
    response = await survivor
    after_kill = time.monotonic() - killed
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    assert len(state.tile_requests()) == 2  # the dead leader's fetch, then the survivor's own
    with pytest.raises(httpx.HTTPError):
        await doomed
    waited_after, _ = await _coalesced_and_hits(client, second.url)
    assert waited_after - waited_before == 1  # a cross-process waiter counts as a coalesced waiter
    return after_kill


_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=200)


def _env(tmp_path: Path, upstream_url: str, **settings: str) -> dict[str, str]:
    upstreams = write_upstreams(tmp_path / "upstreams.json", upstream_url)
    return {"UPSTREAMS_FILE": str(upstreams), "DEMO_UPSTREAM": "false", **settings}


@pytest.mark.redis
async def test_one_upstream_fetch_across_processes_and_take_over_when_the_leader_dies(  # type: ignore[no-untyped-def]
    upstream, redis_server, mapmap_processes, tmp_path: Path
) -> None:
    state, url = upstream
    env = _env(
        tmp_path, url, CACHE_BACKEND="redis", CACHE_REDIS_URL=redis_server.url, CACHE_LOCK_TTL="1", CACHE_LOCK_WAIT="15"
    )
    first, second = mapmap_processes(2, env)
    async with httpx.AsyncClient(timeout=30, limits=_LIMITS) as client:
        await _herd_makes_one_fetch(client, state, first, second)
        # the other process takes over once the 1 s lease runs out, not after the hung fetch's 3 s
        assert await _leader_dies_and_the_survivor_fetches(client, state, first, second) < 2.2


async def test_memory_caches_share_one_fetch_and_a_dead_leader_frees_its_lock_at_once(  # type: ignore[no-untyped-def]
    upstream, mapmap_processes, tmp_path: Path
) -> None:
    state, url = upstream
    # two `mapmap serve` processes stand for two workers of one instance
    env = _env(tmp_path, url, CACHE_BACKEND="memory", CACHE_LOCAL_FLIGHT="on", CACHE_LOCK_DIR=str(tmp_path / "flight"))
    first, second = mapmap_processes(2, env)
    async with httpx.AsyncClient(timeout=30, limits=_LIMITS) as client:
        tile = await _herd_makes_one_fetch(client, state, first, second)
        # the adopted tile is in the other process's own memory cache now: a hit, no fetch
        for process in (first, second):
            assert (await client.get(f"{process.url}{tile}")).status_code == 200
        assert len(state.tile_requests()) == 1
        # no lease to run out: the kernel frees the dead leader's lock, well before the hung fetch's 3 s
        assert await _leader_dies_and_the_survivor_fetches(client, state, first, second) < 1.0


@pytest.mark.parametrize("local_flight", ["on", "off"])
async def test_neighbouring_reprojected_tiles_fetch_each_source_tile_once_across_processes(  # type: ignore[no-untyped-def]
    upstream, mapmap_processes, tmp_path: Path, local_flight: str
) -> None:
    from .test_tiles_http import riga_tile

    state, url = upstream
    env = _env(
        tmp_path, url, CACHE_BACKEND="memory", CACHE_LOCAL_FLIGHT=local_flight, CACHE_LOCK_DIR=str(tmp_path / "flight")
    )
    first, second = mapmap_processes(2, env)
    x, y, _, _ = riga_tile(12)
    async with httpx.AsyncClient(timeout=30) as client:
        for process in (first, second):  # capabilities loaded; far from the tiles below
            assert (await client.get(f"{process.url}/tiles/demo-lks92/12/{x + 8}/{y + 8}.png")).status_code == 200
        state.requests.clear()
        state.delay = 1.0  # the two processes' fetches overlap
        # a 2x2 block of output tiles, each rendered by one process, neighbours on the other
        block = [(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)]
        responses = await asyncio.gather(
            *(
                client.get(f"{(first, second)[i % 2].url}/tiles/demo-lks92/12/{tx}/{ty}.png")
                for i, (tx, ty) in enumerate(block)
            )
        )
        assert {r.status_code for r in responses} == {200}
    paths = [request.path for request in state.tile_requests()]
    assert paths
    assert all("/LKS92/" in path for path in paths)
    duplicates = len(paths) - len(set(paths))
    if local_flight == "on":
        assert duplicates == 0  # a source tile both processes need is fetched by one, adopted by the other
    else:
        assert duplicates > 0  # the same block without the lock files: shared source tiles fetched twice
