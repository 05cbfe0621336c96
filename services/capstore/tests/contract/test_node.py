"""RedisNode against real redis-server processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from capstore.errors import NodeTimeout, NodeUnavailable
from capstore.node import RedisNode
from capstore.records import Record
from capstore.versioning import HybridClock, Version

pytestmark = pytest.mark.redis
T = TypeVar("T")


def v(ms: int, node: str = "g1", logical: int = 0) -> str:
    return Version(ms, logical, node).encode()


@pytest.fixture
async def pair(redis_server_factory: Any) -> Any:
    servers = [redis_server_factory(f"g{i}", appendonly=True) for i in (1, 2)]
    nodes = [RedisNode(f"g{i}", s.url, timeout_s=0.5) for i, s in zip((1, 2), servers, strict=True)]
    yield servers, nodes
    for node in nodes:
        await node.close()


async def test_an_older_write_never_overwrites_a_newer_one(pair: Any) -> None:
    _, (g1, _) = pair
    assert (await g1.write("k", Record("new", v(2000)))).applied
    late = await g1.write("k", Record("old", v(1000)))
    assert not late.applied
    assert late.version == v(2000)
    assert (await g1.read("k"))[0] == Record("new", v(2000))
    # the same version again is the same write: reported applied, value unchanged (idempotent retry)
    assert (await g1.write("k", Record("new", v(2000)))).applied
    # ties on time are broken by the logical counter, then by node id
    assert (await g1.write("k", Record("tie", v(2000, "g2")))).applied
    assert not (await g1.write("k", Record("lost", v(2000, "g1")))).applied


async def test_missing_key_and_tombstone(pair: Any) -> None:
    _, (g1, _) = pair
    assert (await g1.read("nothing"))[0] is None
    await g1.write("k", Record("x", v(1)))
    await g1.write("k", Record(None, v(2)))
    record, _ = await g1.read("k")
    assert record is not None
    assert record.deleted
    assert record.version == v(2)
    assert not (await g1.write("k", Record("resurrect", v(1, "g2")))).applied


async def test_log_replication_cursor_ack_and_trim(pair: Any) -> None:
    _, (g1, g2) = pair
    ids = [(await g1.write(f"k{i}", Record(str(i), v(100 + i)), log=True)).log_id for i in range(5)]
    assert all(ids)
    assert ids == sorted(ids, key=lambda s: tuple(map(int, s.split("-"))))
    # repairs are not logged
    assert (await g1.write("repair", Record("r", v(50)), log=False)).log_id == ""
    batch = await g1.log_since("0-0", count=3)
    assert [e.key for e in batch.entries] == ["k0", "k1", "k2"]
    assert not batch.gap
    assert batch.last_id == ids[-1]
    assert await g2.apply_batch("g1", batch.entries, batch.entries[-1].id) == 3
    assert await g2.cursor("g1") == ids[2]
    # re-applying is harmless and the cursor never moves back
    assert await g2.apply_batch("g1", batch.entries, "0-1") == 0
    assert await g2.cursor("g1") == ids[2]
    assert (await g2.read("k1", ["g1"])) == (Record("1", v(101)), {"g1": ids[2]})
    rest = await g1.log_since(ids[2], count=10)
    assert [e.key for e in rest.entries] == ["k3", "k4"]
    await g1.ack("g2", ids[2], ["g2"])
    assert await g1.log_length() == 3  # ids[2] itself is kept, everything before it trimmed
    await g1.ack("g2", ids[4], ["g2"])
    assert await g1.log_length() == 1
    # trimmed entries a peer applied are not a gap
    assert not (await g1.log_since(ids[4], count=10)).gap


async def test_apply_batch_refuses_when_the_node_lost_what_the_replicator_thinks_it_applied(pair: Any) -> None:
    """A replicator keeps the peer's cursor between rounds; a peer that restarted without its last
    applied entries must say so instead of silently skipping them."""
    _, (g1, g2) = pair
    ids = [(await g1.write(f"k{i}", Record(str(i), v(200 + i)), log=True)).log_id for i in range(4)]
    batch = await g1.log_since("0-0", count=2)
    assert await g2.apply_batch("g1", batch.entries, ids[1], expected_cursor="0-0") == 2
    rest = await g1.log_since(ids[1], count=10)
    assert await g2.apply_batch("g1", rest.entries, ids[3], expected_cursor=ids[1]) == 2
    await g2._call("SET", "cap:cursor:g1", ids[1])  # as after a restart that lost the last second
    assert await g2.apply_batch("g1", [], ids[3], expected_cursor=ids[3]) == -1
    assert await g2.cursor("g1") == ids[1]  # untouched: the replicator resends from here


async def test_shipped_batches_carry_the_newest_version_of_each_key_ready_for_the_peer(pair: Any) -> None:
    """ship_since packs on the origin what apply_shipped forwards: the peer ends up with the same
    records and the same anti-entropy digests (so the origin's buckets match `bucket_of`)."""
    _, (g1, g2) = pair
    empty = await g1.ship_since("0-0", 10)
    assert (empty.read, empty.last_id, empty.gap, empty.keys, empty.args) == (0, "0-0", False, [], [])
    ids = [
        (await g1.write(key, record, log=True)).log_id
        for key, record in [
            ("a", Record("1", v(100))),
            ("b", Record("x", v(101))),
            ("a", Record("2", v(102))),
            ("gone", Record("soon", v(103))),
            ("gone", Record(None, v(104))),
        ]
    ]
    batch = await g1.ship_since("0-0", 10)
    assert (batch.read, batch.last_read_id, batch.last_id, batch.gap) == (5, ids[-1], ids[-1], False)
    assert len(batch.keys) == 2 * 3  # a, b and gone once each
    assert await g2.apply_shipped("g1", batch, batch.last_read_id, expected_cursor="0-0") == 3
    assert await g2.cursor("g1") == ids[-1]
    assert (await g2.read("a"))[0] == Record("2", v(102))
    assert (await g2.read("b"))[0] == Record("x", v(101))
    gone = (await g2.read("gone"))[0]
    assert gone is not None
    assert gone.deleted
    assert gone.version == v(104)
    assert await g2.digests() == await g1.digests()
    # a short read after the cursor, and the same refusal as apply_batch when dest lost entries
    rest = await g1.ship_since(ids[2], 1)
    assert (rest.read, rest.last_read_id) == (1, ids[3])
    beyond = f"{int(ids[-1].split('-')[0]) + 1}-0"  # a cursor g2 never reached
    assert await g2.apply_shipped("g1", rest, ids[3], expected_cursor=beyond) == -1


async def test_capped_log_reports_a_gap(redis_server_factory: Any) -> None:
    server = redis_server_factory("capped")
    node = RedisNode("g1", server.url, max_log_len=10)
    try:
        for i in range(300):
            await node.write(f"k{i}", Record("x", v(1000 + i)), log=True)
        assert await node.log_length() < 300
        batch = await node.log_since("0-0", count=1000)
        assert batch.gap
        assert not (await node.log_since(batch.last_id, count=10)).gap
        shipped = await node.ship_since("0-0", 1000)
        assert shipped.gap
        assert shipped.last_id == batch.last_id
        assert not (await node.ship_since(batch.last_id, 10)).gap
    finally:
        await node.close()


async def test_digests_depend_on_contents_not_on_order(pair: Any) -> None:
    _, (g1, g2) = pair
    writes = [
        ("a", Record("1", v(10))),
        ("b", Record("2", v(11))),
        ("a", Record("3", v(12))),
        ("c", Record(None, v(13))),
    ]
    for key, record in writes:
        await g1.write(key, record)
    for key, record in reversed(writes):
        await g2.write(key, record)
    assert await g1.digests() == await g2.digests()
    assert await g1.snapshot() == await g2.snapshot()
    await g2.write("b", Record("changed", v(20)))
    d1, d2 = await g1.digests(), await g2.digests()
    differing = [b for b in set(d1) | set(d2) if d1.get(b) != d2.get(b)]
    assert len(differing) == 1
    assert (await g2.bucket_versions(differing[0]))["b"] == v(20)
    assert (await g1.bucket_versions(differing[0]))["b"] == v(11)


async def test_data_and_log_survive_a_kill_with_aof(pair: Any) -> None:
    (s1, _), (g1, _) = pair
    clock = HybridClock("g1")
    written = {}
    for i in range(50):
        written[f"k{i}"] = Record(str(i), clock.now().encode())
        await g1.write(f"k{i}", written[f"k{i}"], log=True, durable=True)
    s1.kill()
    # A pooled connection learns of the kill only after sending: conservatively "maybe applied".
    with pytest.raises(NodeUnavailable):
        await g1.read("k1")
    # A new connection is refused before anything is sent: surely not applied.
    with pytest.raises(NodeUnavailable) as refused:
        await g1.write("k1", Record("lost", clock.now().encode()))
    assert refused.value.maybe_applied is False
    s1.start()
    # the port opens before the AOF is loaded; on a busy machine the first replies are LOADING
    for _ in range(200):
        try:
            await g1.ping()
            break
        except NodeUnavailable as error:
            if "loading" not in str(error):
                raise
            await asyncio.sleep(0.02)
    assert await g1.snapshot() == written
    assert len((await g1.log_since("0-0", 100)).entries) == 50


async def test_paused_node_times_out_as_unknown(pair: Any) -> None:
    (s1, _), (g1, _) = pair
    await g1.write("warm", Record("up", v(1)))  # loads the script, so the paused EVALSHA can run later
    s1.pause()
    try:
        started = time.monotonic()
        with pytest.raises(NodeTimeout) as timed_out:
            await g1.write("k", Record("x", v(1)))
        assert timed_out.value.maybe_applied is True
        assert time.monotonic() - started < 1.5
    finally:
        s1.resume()
    # the command sat in the socket buffer and is applied once the node runs again: "unknown" was right
    for _ in range(200):
        if (await g1.read("k"))[0] is not None:
            break
        await asyncio.sleep(0.01)
    assert (await g1.read("k"))[0] == Record("x", v(1))


class RefusingBreaker:
    state = 2

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        raise RuntimeError("open")


async def test_breaker_refusal_is_not_applied(redis_server: Any) -> None:
    node = RedisNode("g1", redis_server.url, breaker=RefusingBreaker())
    with pytest.raises(NodeUnavailable, match="breaker open") as refused:
        await node.write("k", Record("x", v(1)))
    assert refused.value.maybe_applied is False
    await node.close()
