"""Live state contract, run on the in-memory store and on a real redis-server.

A "peer" is a second LiveState as another replica would build it: for memory that is the same
object (one process), for Redis a separate client with its own Broadcaster.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from spoton.pipeline import Broadcaster, LiveState, MemoryLiveState, RedisLiveState


@dataclass
class Pair:
    producer: LiveState
    peer: LiveState


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    if request.param == "memory":
        live = MemoryLiveState(Broadcaster(8))
        yield Pair(live, live)
        return
    url = request.getfixturevalue("redis_server").url
    producer = RedisLiveState(url, Broadcaster(8), listen=False)
    peer = RedisLiveState(url, Broadcaster(8))
    await peer.start()
    await asyncio.wait_for(peer.listener_connected.wait(), 5)
    try:
        yield Pair(producer, peer)
    finally:
        await producer.close()
        await peer.close()


def _frame(n: int) -> dict[str, object]:
    track = {"camera": "cam_a", "track_id": 1, "global_id": 7, "bbox": [1, 2, 3, 4], "confidence": 0.9, "floor": None}
    return {
        "type": "frame",
        "task_id": "t1",
        "frame": n,
        "ts": n / 10,
        "cameras": ["cam_a", "cam_b"],
        "tracks": [track],
    }


async def test_progress_and_latest_tracks_are_seen_by_a_peer(pair: Pair) -> None:
    assert await pair.peer.progress("t1") is None
    assert await pair.peer.latest("t1") is None
    await pair.producer.publish_frame("t1", _frame(1), 1, 50)
    await pair.producer.publish_frame("t1", _frame(2), 2, 50)
    assert await pair.peer.progress("t1") == (2, 50)
    latest = await pair.peer.latest("t1")
    assert latest is not None
    assert latest["frames_done"] == 2
    assert latest["cameras"]["cam_a"]["frame"] == 2
    assert latest["cameras"]["cam_a"]["tracks"][0]["global_id"] == 7
    assert latest["cameras"]["cam_b"] == {"frame": 2, "ts": 0.2, "tracks": []}  # seen, nobody in view
    await pair.producer.forget("t1")
    latest = await pair.peer.latest("t1")
    assert latest is None or latest["cameras"] == {}


async def test_a_stop_requested_by_a_peer_reaches_the_producer(pair: Pair) -> None:
    assert await pair.producer.publish_frame("t1", _frame(1), 1, 5) is False
    await pair.peer.request_stop("t1")
    assert await pair.producer.stop_requested("t1")
    assert await pair.producer.publish_frame("t1", _frame(2), 2, 5) is True
    assert not await pair.producer.stop_requested("t2")


async def test_frames_fan_out_to_the_peers_subscribers_in_order(pair: Pair) -> None:
    sub = pair.peer.broadcaster.subscribe("t1")
    other = pair.peer.broadcaster.subscribe("t2")
    for n in range(1, 4):
        await pair.producer.publish_frame("t1", _frame(n), n, 3)
    await pair.producer.publish("t1", {"type": "end", "task_id": "t1", "status": "completed"})
    got = [await asyncio.wait_for(sub.get(), 5) for _ in range(4)]
    assert [m.get("frame") for m in got] == [1, 2, 3, None]
    assert got[-1]["type"] == "end"
    assert other.queue.empty()


@pytest.mark.redis
async def test_redis_errors_become_live_state_unavailable(redis_server_factory) -> None:
    from spoton.errors import LiveStateUnavailableError

    server = redis_server_factory()
    live = RedisLiveState(server.url, Broadcaster(2), listen=False, timeout_s=0.5)
    local_viewer = live.broadcaster.subscribe("t")
    await live.ping()
    server.kill()
    try:
        for call in (live.ping(), live.progress("t"), live.request_stop("t"), live.publish_frame("t", _frame(1), 1, 1)):
            with pytest.raises(LiveStateUnavailableError, match="Redis"):
                await call
    finally:
        await live.close()
    # The frame that could not reach Redis still reached this process's own viewer.
    assert local_viewer.queue.get_nowait()["frame"] == 1
