"""AP coordinator over two real redis-server nodes behind fault proxies."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from capstore.ap import APCoordinator
from capstore.errors import CannotHonourSession, InvalidSessionToken
from capstore.faults import FaultProxy
from capstore.node import RedisNode
from capstore.records import Record
from capstore.session import SessionSigner
from capstore.versioning import HybridClock, Version

pytestmark = pytest.mark.redis
SECRET = "contract-test-secret-0123456789"


class Site:
    """One app instance: its own proxies to both nodes and its own coordinator (local node first)."""

    def __init__(
        self,
        name: str,
        local: int,
        servers: list[Any],
        events: list[tuple[str, dict[str, Any]]],
        **options: Any,
    ) -> None:
        self.name, self.local, self.servers, self.options, self.events = name, local, servers, options, events

    async def start(self) -> Site:
        self.proxies = [
            await FaultProxy("127.0.0.1", s.port, name=f"{self.name}->g{i + 1}").start()
            for i, s in enumerate(self.servers)
        ]
        nodes = [
            RedisNode(f"g{i + 1}", p.url, timeout_s=0.3, max_log_len=self.options.pop("max_log_len", 100_000))
            for i, p in enumerate(self.proxies)
        ]
        order = [nodes[self.local], *(n for i, n in enumerate(nodes) if i != self.local)]
        self.coordinator = APCoordinator(
            order,
            HybridClock(self.name),
            SessionSigner(SECRET),
            events=lambda name, **fields: self.events.append((name, fields)),
            **{"max_staleness_ms": 150.0, "anti_entropy_interval_s": 0.2, **self.options},
        )
        return self

    async def partition_from(self, node_index: int) -> None:
        await self.proxies[node_index].drop()

    async def heal(self) -> None:
        for proxy in self.proxies:
            await proxy.pass_through()

    async def close(self) -> None:
        await self.coordinator.stop()
        for node in self.coordinator.nodes:
            await node.close()
        for proxy in self.proxies:
            await proxy.stop()


@pytest.fixture
async def env(redis_server_factory: Any) -> Any:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    direct = [RedisNode(f"g{i + 1}", s.url) for i, s in enumerate(servers)]
    events: list[tuple[str, dict[str, Any]]] = []
    sites: list[Site] = []

    async def site(name: str, local: int, **options: Any) -> Site:
        made = await Site(name, local, servers, events, **options).start()
        sites.append(made)
        return made

    yield site, direct, events, servers
    for made in sites:
        await made.close()
    for node in direct:
        await node.close()


async def converged(direct: list[RedisNode], within_s: float) -> float:
    started = time.monotonic()
    for _ in range(int(within_s / 0.01)):
        if await direct[0].snapshot() == await direct[1].snapshot():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"nodes differ after {within_s}s")


async def test_local_ack_then_async_replication(env: Any) -> None:
    site, direct, _, _ = env
    a = await site("a", 0)
    await a.coordinator.start()
    ack = await a.coordinator.write("k", "v")
    assert ack.node == "g1"
    assert (await direct[0].read("k"))[0] == Record("v", ack.version)
    await converged(direct, 2.0)
    assert (await direct[1].read("k"))[0] == Record("v", ack.version)
    read = await a.coordinator.read("k", ack.session)
    assert (read.value, read.node, read.stale) == ("v", "g1", False)
    assert await direct[0].log_length() <= 1  # trimmed once the peer applied it


async def test_partition_keeps_answering_reports_staleness_then_converges_by_lww(env: Any) -> None:
    site, direct, events, _ = env
    a, b = await site("a", 0), await site("b", 1)
    await a.coordinator.start()
    await b.coordinator.start()
    await a.partition_from(1)
    await b.partition_from(0)
    wa = await a.coordinator.write("k", "from-a")
    await asyncio.sleep(0.01)
    wb = await b.coordinator.write("k", "from-b")  # later clock: the last writer wins after heal
    await asyncio.sleep(0.3)
    read_a = await a.coordinator.read("k")
    assert (read_a.value, read_a.stale) == ("from-a", True)
    assert read_a.staleness_ms > 150
    assert (await b.coordinator.read("k")).value == "from-b"
    assert any(name == "PARTITION_DETECTED" for name, _ in events)
    await a.heal()
    await b.heal()
    await converged(direct, 3.0)
    winner, value = max([(wa, "from-a"), (wb, "from-b")], key=lambda pair: pair[0].version)
    assert (await direct[0].read("k"))[0] == Record(value, winner.version)
    # a's own replicators retry with backoff (at most 0.5 s) before its staleness drops again
    for _ in range(150):
        if not (await a.coordinator.read("k")).stale:
            break
        await asyncio.sleep(0.01)
    assert not (await a.coordinator.read("k")).stale
    assert any(name == "PARTITION_HEALED" for name, _ in events)


async def test_read_your_writes_waits_or_refuses_and_goes_to_a_node_that_has_it(env: Any) -> None:
    site, _, _, _ = env
    a = await site("a", 0)
    b = await site("b", 1, session_wait_ms=150.0)
    ack = await a.coordinator.write("k", "mine")  # nothing replicates: no coordinator started
    await b.partition_from(0)  # b cannot reach g1, and g2 lacks the write
    started = time.monotonic()
    with pytest.raises(CannotHonourSession):
        await b.coordinator.read("k", ack.session)
    assert time.monotonic() - started >= 0.15
    assert (await b.coordinator.read("k")).value is None  # without the token: a stale local read
    await b.heal()
    read = await b.coordinator.read("k", ack.session)  # g2 still lacks it; g1 has it
    assert (read.value, read.node) == ("mine", "g1")
    await a.coordinator.start()  # replication g1 -> g2 catches up, inside the wait window
    await asyncio.sleep(0.3)
    read = await b.coordinator.read("k", ack.session)
    assert (read.value, read.node) == ("mine", "g2")
    with pytest.raises(InvalidSessionToken):
        await b.coordinator.read("k", ack.session[:-2] + "xx")


async def test_failover_write_when_the_local_node_is_down(env: Any) -> None:
    site, direct, _, servers = env
    a = await site("a", 0)
    servers[0].kill()
    ack = await a.coordinator.write("k", "v")
    assert ack.node == "g2"
    read = await a.coordinator.read("k", ack.session)
    assert (read.value, read.node) == ("v", "g2")
    servers[0].start()
    await a.coordinator.start()
    await converged(direct, 3.0)


async def test_capped_log_gap_is_covered_by_anti_entropy(env: Any) -> None:
    site, direct, events, _ = env
    a = await site("a", 0, max_log_len=5, anti_entropy_interval_s=0)
    await a.partition_from(1)
    for i in range(40):
        await a.coordinator.write(f"k{i}", str(i))
    assert await direct[0].log_length() == 5  # bounded during the partition
    await a.heal()
    await a.coordinator.start()
    await converged(direct, 3.0)
    assert any(name == "REPLICATION_GAP" for name, _ in events)
    assert len(await direct[1].snapshot()) == 40


async def test_read_repair_and_anti_entropy_fix_unlogged_divergence(env: Any) -> None:
    site, direct, events, _ = env
    a = await site("a", 0, anti_entropy_interval_s=0)
    newer = Version(time.time_ns() // 1_000_000 + 1000, 0, "zz").encode()
    await direct[1].write("r", Record("newer", newer))  # not logged: replication will never ship it
    assert (await a.coordinator.read("r")).value is None  # local read, then repair in the background
    await asyncio.sleep(0.2)
    assert (await direct[0].read("r"))[0] == Record("newer", newer)
    assert any(name == "READ_REPAIR" for name, _ in events)
    await direct[0].write("e", Record("only-on-g1", newer))
    assert await a.coordinator.anti_entropy_once() == 1
    assert await direct[0].snapshot() == await direct[1].snapshot()


async def test_tombstones_are_collected_only_when_safe_and_the_key_never_resurrects(env: Any) -> None:
    """A delete's tombstone goes once every node holds it, the grace period passed and every peer
    applied the logs as of then; an older write still in a log stops it until shipped (then
    superseded), and after collection neither replication nor anti-entropy brings the key back."""
    site, direct, events, _ = env
    a = await site("a", 0, anti_entropy_interval_s=0, tombstone_grace_s=0.1)
    gc = a.coordinator
    older = Version(time.time_ns() // 1_000_000 - 5_000, 0, "old").encode()
    await direct[1].write("k", Record("old", older), log=True)  # in g2's log, not shipped yet
    deleted = await gc.delete("k")
    await asyncio.sleep(0.15)
    assert await gc.collect_tombstones() == 0  # g2 still holds the old value
    assert gc._gc_pending is None
    await direct[1].write("k", Record(None, deleted.version))  # g2 gets the tombstone, not via the log
    assert await gc.collect_tombstones() == 0  # phase 1: both hold it; logs noted
    assert gc._gc_pending is not None
    assert await gc.collect_tombstones() == 0  # phase 2 waits: g1 has not applied g2's log yet
    assert (await direct[0].read("k"))[0] == Record(None, deleted.version)
    await gc.start()  # replication ships the old write: superseded by the tombstone on g1
    collected = 0
    for _ in range(300):
        collected = await gc.collect_tombstones()
        if collected:
            break
        await asyncio.sleep(0.01)
    assert collected == 1
    assert any(name == "TOMBSTONES_COLLECTED" for name, _ in events)
    for node in direct:
        assert (await node.read("k"))[0] is None  # gone, not a tombstone
        assert await node.tombstones_before(10**13) == []
    await asyncio.sleep(0.3)  # replication rounds after the collection
    assert await gc.anti_entropy_once() == 0
    assert (await gc.read("k")).value is None
    assert "k" not in await direct[0].snapshot()
    assert await direct[0].snapshot() == await direct[1].snapshot()
    rewritten = await gc.write("k", "new")
    assert (await gc.read("k", rewritten.session)).value == "new"
