"""Live fan-out: bounded queues, oldest dropped, publish never waits for a consumer."""

from __future__ import annotations

import asyncio

import pytest
from spoton.pipeline import Broadcaster


async def test_slow_subscriber_loses_oldest_frames_and_learns_how_many() -> None:
    drops: list[int] = []
    hub = Broadcaster(3, on_drop=drops.append)
    slow = hub.subscribe("t")
    fast = hub.subscribe("t")
    for frame in range(1, 11):
        hub.publish("t", {"frame": frame})
        if frame <= 10:
            assert (await fast.get())["frame"] == frame  # a reading client gets everything
    got = [await slow.get() for _ in range(3)]
    assert [m["frame"] for m in got] == [8, 9, 10]
    assert got[0]["dropped"] == 7
    assert "dropped" not in got[1]
    assert slow.dropped == 7
    assert fast.dropped == 0
    assert sum(drops) == 7 == hub.dropped_total


async def test_publish_does_not_block_without_readers() -> None:
    hub = Broadcaster(1)
    hub.subscribe("t")
    loop = asyncio.get_running_loop()
    start = loop.time()
    for frame in range(10_000):
        hub.publish("t", {"frame": frame})
    assert loop.time() - start < 1.0


def test_unsubscribe_and_counts() -> None:
    hub = Broadcaster(2)
    a, b = hub.subscribe("x"), hub.subscribe("y")
    assert hub.subscribers() == 2
    assert hub.subscribers("x") == 1
    hub.publish("x", {"n": 1})
    assert hub.clear() == 1
    assert a.dropped == 1
    hub.unsubscribe(a)
    hub.unsubscribe(b)
    assert hub.subscribers() == 0
    with pytest.raises(ValueError, match="queue_size"):
        Broadcaster(0)
