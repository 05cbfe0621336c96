"""FaultProxy in front of a real redis-server, observed through the node adapter."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from capstore.errors import NodeTimeout, NodeUnavailable
from capstore.faults import FaultMode, FaultProxy
from capstore.node import RedisNode
from capstore.records import Record
from capstore.versioning import Version

pytestmark = pytest.mark.redis


@pytest.fixture
async def proxied(redis_server: Any) -> Any:
    proxy = await FaultProxy("127.0.0.1", redis_server.port, name="g1").start()
    node = RedisNode("g1", proxy.url, timeout_s=0.3)
    direct = RedisNode("g1", redis_server.url, timeout_s=1.0)
    yield proxy, node, direct
    await node.close()
    await direct.close()
    await proxy.stop()


async def test_pass_forwards_both_ways(proxied: Any) -> None:
    proxy, node, direct = proxied
    await node.write("k", Record("v", Version(1, 0, "g1").encode()))
    assert (await direct.read("k"))[0] == Record("v", Version(1, 0, "g1").encode())
    assert proxy.describe()["mode"] == "pass"


async def test_drop_refuses_new_and_resets_open_connections(proxied: Any) -> None:
    proxy, node, _ = proxied
    await node.ping()  # an open pooled connection
    await proxy.drop()
    with pytest.raises(NodeUnavailable):
        await node.ping()  # the open connection was reset
    started = time.monotonic()
    with pytest.raises(NodeUnavailable) as refused:
        await node.ping()  # a new connection is refused at once
    assert refused.value.maybe_applied is False
    assert time.monotonic() - started < 0.1
    await proxy.pass_through()
    await node.ping()


async def test_delay_adds_latency(proxied: Any) -> None:
    proxy, node, _ = proxied
    await node.ping()
    await proxy.delay(60)
    started = time.monotonic()
    await node.ping()
    assert 0.11 <= time.monotonic() - started < 0.3  # 60 ms each way
    await proxy.delay(500)  # beyond the node timeout: a timeout, outcome unknown
    with pytest.raises(NodeTimeout):
        await node.ping()
    with pytest.raises(ValueError, match="delay_ms"):
        await proxy.set_mode(FaultMode.DELAY)


async def test_blackhole_holds_bytes_and_delivers_them_late(proxied: Any) -> None:
    proxy, node, direct = proxied
    version = Version(5, 0, "g1").encode()
    await node.write("warm", Record("x", version))  # script cached on the node
    await proxy.blackhole()
    with pytest.raises(NodeTimeout) as timed_out:
        await node.write("late", Record("y", version))
    assert timed_out.value.maybe_applied is True
    with pytest.raises(NodeTimeout) as new_connection:
        await node.ping()  # a new connection is accepted but never answered
    assert new_connection.value.maybe_applied is False
    assert (await direct.read("late"))[0] is None
    await proxy.pass_through()
    for _ in range(100):
        if (await direct.read("late"))[0] is not None:
            break
        await asyncio.sleep(0.01)
    assert (await direct.read("late"))[0] == Record("y", version)
    await node.ping()
