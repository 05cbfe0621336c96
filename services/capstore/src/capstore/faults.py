"""A userspace TCP proxy that injects network faults in front of a node (the kernel here has no netem).

Modes:
- `pass`: forward bytes both ways.
- `drop`: refuse new connections (the listening socket is closed, so connects get ECONNREFUSED) and
  reset every open one — a crashed host or a firewall REJECT.
- `delay(ms)`: forward every chunk `ms` later, in order.
- `blackhole`: accept connections but forward nothing; bytes are held (up to a bound) and delivered
  late when the fault heals, like TCP retransmissions after a partition — so a command the client
  gave up on can still be applied afterwards, which is exactly the "unknown outcome" case.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = ["FaultMode", "FaultProxy"]

_CHUNK: Final = 64 * 1024
_MAX_HELD_BYTES: Final = 4 * 1024 * 1024


class FaultMode(StrEnum):
    PASS = "pass"  # noqa: S105 - a network mode, not a password
    DROP = "drop"
    DELAY = "delay"
    BLACKHOLE = "blackhole"


@dataclass(eq=False)  # identity hashing: links live in a set
class _Link:
    client_writer: asyncio.StreamWriter
    upstream_writer: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client_writer, self.upstream_writer):
            if writer is not None:
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """Proxy `listen_host:port` → `target_host:target_port`. Start it with `await proxy.start()`."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        name: str = "",
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.port = listen_port
        self.name = name or f"{target_host}:{target_port}"
        self.mode = FaultMode.PASS
        self.delay_ms = 0.0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._changed = asyncio.Event()
        self.connections_total = 0

    @property
    def url(self) -> str:
        """A redis:// URL pointing at the proxy."""
        return f"redis://{self.listen_host}:{self.port}/0"

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": self.mode.value,
            "delay_ms": self.delay_ms,
            "open_connections": len(self._links),
        }

    async def start(self) -> FaultProxy:
        await self._listen()
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.listen_host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._abort_links()
        await self._close_listener()

    def _abort_links(self) -> None:
        for link in list(self._links):
            link.abort()
        self._links.clear()

    async def _close_listener(self) -> None:
        # close() releases the listening socket at once; wait_closed() is skipped on purpose, since it
        # may wait for accepted connections, which the caller aborts itself.
        if self._server is not None:
            server, self._server = self._server, None
            server.close()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def set_mode(self, mode: FaultMode | str, delay_ms: float = 0.0) -> None:
        mode = FaultMode(mode)
        if mode is FaultMode.DELAY and delay_ms <= 0:
            raise ValueError("delay mode needs delay_ms > 0")
        previous, self.mode, self.delay_ms = self.mode, mode, delay_ms if mode is FaultMode.DELAY else 0.0
        if mode is FaultMode.DROP:
            self._abort_links()
            await self._close_listener()
        elif previous is FaultMode.DROP:
            await self._listen()
        self._signal()

    async def pass_through(self) -> None:
        await self.set_mode(FaultMode.PASS)

    async def drop(self) -> None:
        await self.set_mode(FaultMode.DROP)

    async def delay(self, ms: float) -> None:
        await self.set_mode(FaultMode.DELAY, ms)

    async def blackhole(self) -> None:
        await self.set_mode(FaultMode.BLACKHOLE)

    async def _gate(self, deliver_at: float) -> None:
        """Wait until a chunk may be delivered: not blackholed, and its delay has passed."""
        while True:
            if self.mode is FaultMode.BLACKHOLE:
                await self._changed.wait()
                continue
            wait = deliver_at - time.monotonic()
            if wait <= 0:
                return
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await changed.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is FaultMode.DROP:
            writer.transport.abort()
            return
        self.connections_total += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            # A blackholed network does not complete the upstream handshake either.
            await self._gate(time.monotonic())
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                writer.transport.abort()
                return
            link.upstream_writer = upstream_writer
            link.tasks = [
                asyncio.create_task(self._pipe(reader, upstream_writer, link)),
                asyncio.create_task(self._pipe(upstream_reader, writer, link)),
            ]
            await asyncio.gather(*link.tasks, return_exceptions=True)
        except asyncio.CancelledError:
            # This is the server's per-connection task; nothing awaits it, and asyncio logs a
            # cancelled one as an error when the loop shuts down. Ending quietly is the intent.
            return
        finally:
            self._links.discard(link)
            link.abort()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        held = 0

        async def deliver() -> None:
            nonlocal held
            while True:
                deliver_at, chunk = await queue.get()
                await self._gate(deliver_at)
                held -= len(chunk)
                if not chunk:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(chunk)
                await sink.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    chunk = await source.read(_CHUNK)
                except (ConnectionError, OSError):
                    chunk = b""
                held += len(chunk)
                if held > _MAX_HELD_BYTES:
                    link.abort()  # a peer that keeps talking into a black hole: give up on it
                    return
                queue.put_nowait((time.monotonic() + self.delay_ms / 1000, chunk))
                if not chunk:
                    break
            await delivering
        except (ConnectionError, OSError):
            link.abort()
        finally:
            delivering.cancel()
