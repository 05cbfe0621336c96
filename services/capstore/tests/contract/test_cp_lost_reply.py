"""A CP write whose reply is lost with its connection after the primary applied it, and which a
second coordinator's newer write then replaces, must end `unknown`: writing it again under a fresh
version (as for a write that was simply superseded) would make it take effect twice, and the
history would not be linearizable. Found while reasoning about two coordinators; pinned here with a
proxy that withholds exactly that reply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from capstore.cp import CPCoordinator
from capstore.errors import CPWriteRefused, WriteOutcome
from capstore.history import HistoryRecorder, KVInput
from capstore.linearizability import CheckVerdict, KVModel, check_operations
from capstore.node import RedisNode
from capstore.versioning import HybridClock

pytestmark = pytest.mark.redis


class LoseOneReply:
    """A TCP proxy that forwards everything, except the reply to the first script call after `arm()`:
    it runs `meanwhile`, then drops the client's connection (the command ran, its answer is lost)."""

    def __init__(self, port: int, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self.target = port
        self.meanwhile = meanwhile
        self.armed = False
        self.fired = False

    async def start(self) -> LoseOneReply:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"
        return self

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _accept(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target)
        cut = asyncio.Event()

        async def upstream() -> None:
            while data := await client_in.read(65536):
                if self.armed and not self.fired and b"EVALSHA" in data:
                    self.fired = True
                    cut.set()
                server_out.write(data)
                await server_out.drain()

        async def downstream() -> None:
            while data := await server_in.read(65536):
                if cut.is_set():
                    await self.meanwhile()
                    client_out.transport.abort()
                    server_out.close()
                    return
                client_out.write(data)
                await client_out.drain()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(upstream(), downstream())


async def test_a_write_whose_reply_was_lost_and_then_superseded_is_unknown_not_rewritten(
    redis_server_factory: Any,
) -> None:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    recorder = HistoryRecorder()
    b_nodes = [RedisNode(f"g{i + 1}", s.url, timeout_s=1.0) for i, s in enumerate(servers)]
    b = CPCoordinator(b_nodes[0], [b_nodes[1]], HybridClock("cp-b"))

    async def other_coordinator_reads_then_writes() -> None:
        read = recorder.invoke(2, KVInput("get", "k"))
        read.ok((await b.read("k")).value)  # the lost-reply write is visible already
        write = recorder.invoke(2, KVInput("put", "k", "b1"))
        await b.write("k", "b1")
        write.ok()

    proxy = await LoseOneReply(servers[0].port, other_coordinator_reads_then_writes).start()
    a_nodes = [RedisNode("g1", proxy.url, timeout_s=1.0), RedisNode("g2", servers[1].url, timeout_s=1.0)]
    a = CPCoordinator(a_nodes[0], [a_nodes[1]], HybridClock("cp-a"))
    try:
        await a.write("warm", "up")  # scripts loaded, connections pooled
        proxy.armed = True
        op = recorder.invoke(1, KVInput("put", "k", "a1"))
        with pytest.raises(CPWriteRefused) as refused:
            await a.write("k", "a1")
        op.unknown()
        assert proxy.fired
        assert refused.value.outcome is WriteOutcome.UNKNOWN
        final = recorder.invoke(2, KVInput("get", "k"))
        final.ok((await b.read("k")).value)
        operations = recorder.operations(is_read=lambda inp: inp.op == "get")
        assert [op.output for op in operations if op.input.op == "get"] == ["a1", "b1"]
        assert check_operations(KVModel(), operations).verdict is CheckVerdict.OK
    finally:
        for node in [*a_nodes, *b_nodes]:
            await node.close()
        await proxy.stop()
