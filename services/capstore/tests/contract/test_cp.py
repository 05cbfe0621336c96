"""CP coordinator over two real redis-server nodes behind fault proxies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from capstore.breaker import CLOSED, HALF_OPEN, OPEN
from capstore.cp import CPCoordinator
from capstore.errors import CPReadUnavailable, CPWriteRefused, InvalidInput, WriteOutcome
from capstore.faults import FaultProxy
from capstore.node import RedisNode
from capstore.records import Record
from capstore.versioning import HybridClock, Version

pytestmark = pytest.mark.redis
T = TypeVar("T")


class ManualBreaker:
    """Test stand-in for servicekit's breaker: OPEN refuses; HALF_OPEN lets one trial through."""

    def __init__(self) -> None:
        self.state = CLOSED
        self.calls = 0

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        if self.state == OPEN:
            raise RuntimeError("breaker open")
        self.calls += 1
        result = await fn()
        self.state = CLOSED
        return result


@pytest.fixture
async def cp(redis_server_factory: Any) -> Any:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    proxies = [await FaultProxy("127.0.0.1", s.port, name=s.directory.name).start() for s in servers]
    breakers = [ManualBreaker(), ManualBreaker()]
    nodes = [
        RedisNode(f"g{i + 1}", p.url, timeout_s=0.3, breaker=b)
        for i, (p, b) in enumerate(zip(proxies, breakers, strict=True))
    ]
    direct = [RedisNode(f"g{i + 1}", s.url) for i, s in enumerate(servers)]
    seen: list[tuple[str, dict[str, Any]]] = []
    coordinator = CPCoordinator(
        nodes[0], [nodes[1]], HybridClock("cp"), events=lambda name, **f: seen.append((name, f))
    )
    yield coordinator, proxies, breakers, direct, seen
    for node in [*nodes, *direct]:
        await node.close()
    for proxy in proxies:
        await proxy.stop()


async def test_write_read_delete(cp: Any) -> None:
    coordinator, _, _, direct, seen = cp
    first = await coordinator.write("k", "one")
    second = await coordinator.write("k", "two")
    assert second.version > first.version
    assert (await coordinator.read("k")).value == "two"
    for node in direct:  # durable on every node before the ack
        assert (await node.read("k"))[0] == Record("two", second.version)
    await coordinator.delete("k")
    assert (await coordinator.read("k")).value is None
    assert [name for name, _ in seen].count("WRITE") == 3
    with pytest.raises(InvalidInput):
        await coordinator.write("bad key!", "x")


async def test_backup_down_refuses_and_primary_never_shows_the_value(cp: Any) -> None:
    coordinator, (_, backup_proxy), _, direct, seen = cp
    await coordinator.write("k", "before")
    await backup_proxy.drop()
    started = time.monotonic()
    with pytest.raises(CPWriteRefused) as refused:
        await coordinator.write("k", "during")
    assert time.monotonic() - started < 0.2  # refused at once
    assert refused.value.outcome is WriteOutcome.NOT_APPLIED
    assert (await coordinator.read("k")).value == "before"
    assert (await direct[0].read("k"))[0].value == "before"
    assert any(name == "DB_CONNECT_FAILURE" and fields["node"] == "g2" for name, fields in seen)
    await backup_proxy.pass_through()
    await coordinator.write("k", "after")
    assert (await coordinator.read("k")).value == "after"


async def test_primary_down_refuses_writes_and_reads(cp: Any) -> None:
    coordinator, (primary_proxy, _), _, _, _ = cp
    await coordinator.write("k", "v")
    await primary_proxy.drop()
    with pytest.raises(CPWriteRefused) as refused:
        await coordinator.write("k", "w")
    assert refused.value.outcome is WriteOutcome.NOT_APPLIED
    with pytest.raises(CPReadUnavailable):
        await coordinator.read("k")
    await primary_proxy.pass_through()
    assert (await coordinator.read("k")).value == "v"


async def test_blackholed_primary_gives_unknown_and_the_write_may_land_later(cp: Any) -> None:
    coordinator, (primary_proxy, _), _, direct, _ = cp
    await coordinator.write("k", "v1")
    await primary_proxy.blackhole()
    with pytest.raises(CPWriteRefused) as refused:
        await coordinator.write("k", "v2")
    assert refused.value.outcome is WriteOutcome.UNKNOWN
    assert (await direct[0].read("k"))[0].value == "v1"
    await primary_proxy.pass_through()  # the held command is delivered now
    for _ in range(100):
        if (await direct[0].read("k"))[0].value == "v2":
            break
        await asyncio.sleep(0.01)
    assert (await coordinator.read("k")).value == "v2"


async def test_open_breaker_refuses_before_sending_and_half_open_probes(cp: Any) -> None:
    coordinator, _, (primary_breaker, backup_breaker), direct, _ = cp
    await coordinator.write("k", "v1")
    primary_breaker.state = OPEN
    backup_calls = backup_breaker.calls
    with pytest.raises(CPWriteRefused) as refused:
        await coordinator.write("k", "v2")
    assert refused.value.outcome is WriteOutcome.NOT_APPLIED
    assert backup_breaker.calls == backup_calls  # nothing was sent anywhere
    assert (await direct[1].read("k"))[0].value == "v1"
    assert coordinator.breaker_states() == {"g2": CLOSED, "g1": OPEN}
    primary_breaker.state = HALF_OPEN  # recovery timeout elapsed: the next call is the trial
    await coordinator.write("k", "v3")
    assert primary_breaker.state == CLOSED
    assert (await coordinator.read("k")).value == "v3"


async def test_a_newer_version_from_another_writer_is_overtaken_not_ignored(cp: Any) -> None:
    coordinator, _, _, direct, _ = cp
    future = Version(time.time_ns() // 1_000_000 + 60_000, 0, "other").encode()  # a clock 1 min ahead
    for node in direct:
        await node.write("k", Record("from-the-future", future))
    ack = await coordinator.write("k", "mine")
    assert ack.attempts == 2
    assert ack.version > future
    assert (await coordinator.read("k")).value == "mine"
