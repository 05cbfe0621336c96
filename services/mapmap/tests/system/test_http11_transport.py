"""MapMap's pooled HTTP/1.1 transport against a real scripted server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from mapmap.http11 import PooledHTTP11Transport
from servicekit.local import free_port


@dataclass
class ScriptedServer:
    """Answers by path; counts connections and requests."""

    port: int
    connections: int = 0
    requests: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served_here = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                self.requests.append(path)
                served_here += 1
                if path == "/hang":
                    await asyncio.sleep(30)
                elif path == "/chunked":
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                    )
                elif path == "/until-close":
                    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
                    await writer.drain()
                    break
                elif path == "/one-per-connection" and served_here > 1:
                    break  # a server that dropped the idle connection just as the request arrived
                elif path == "/endless":
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    chunk = b"x" * 65536
                    for _ in range(512):  # 32 MiB offered; a reader that stops early must not buffer it
                        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        await writer.drain()
                    writer.write(b"0\r\n\r\n")
                elif path == "/garbage":
                    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
                else:
                    body = path.encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer(free_port())
    listener = await asyncio.start_server(scripted.handle, "127.0.0.1", scripted.port)
    async with listener:
        yield scripted


def client(transport: PooledHTTP11Transport, read: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0, read=read))


async def test_sequential_requests_reuse_one_keep_alive_connection(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport()) as http:
        bodies = [(await http.get(f"http://127.0.0.1:{server.port}/tile/{i}")).text for i in range(20)]
    assert bodies == [f"/tile/{i}" for i in range(20)]
    assert server.connections == 1


async def test_concurrent_requests_are_capped_by_max_connections(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport(max_connections=3)) as http:
        responses = await asyncio.gather(*(http.get(f"http://127.0.0.1:{server.port}/c/{i}") for i in range(30)))
    assert [r.text for r in responses] == [f"/c/{i}" for i in range(30)]
    assert server.connections <= 3


async def test_chunked_and_until_close_bodies(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport()) as http:
        chunked = await http.get(f"http://127.0.0.1:{server.port}/chunked")
        until_close = await http.get(f"http://127.0.0.1:{server.port}/until-close")
        after = await http.get(f"http://127.0.0.1:{server.port}/after")
    assert chunked.content == b"hello world"
    assert until_close.content == b"all of it"
    assert after.text == "/after"
    assert server.connections == 2  # the until-close connection could not be reused


async def test_a_reused_connection_the_server_dropped_is_retried_on_a_new_one(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport()) as http:
        first = await http.get(f"http://127.0.0.1:{server.port}/one-per-connection")
        second = await http.get(f"http://127.0.0.1:{server.port}/one-per-connection")
    assert first.status_code == second.status_code == 200
    assert server.connections == 2
    assert server.requests.count("/one-per-connection") == 3  # sent, dropped unanswered, resent


async def test_silence_is_a_read_timeout_and_the_pool_recovers(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport(max_connections=1), read=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{server.port}/hang")
        recovered = await http.get(f"http://127.0.0.1:{server.port}/ok")
    assert recovered.text == "/ok"


async def test_refused_connection_and_garbage_map_to_httpx_errors(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/nobody-listens")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{server.port}/garbage")


async def test_streamed_body_can_be_abandoned_without_poisoning_the_pool(server: ScriptedServer) -> None:
    async with client(PooledHTTP11Transport(max_connections=1)) as http:
        async with http.stream("GET", f"http://127.0.0.1:{server.port}/chunked") as response:
            assert response.status_code == 200  # closed before the body is read
        again = await http.get(f"http://127.0.0.1:{server.port}/again")
    assert again.text == "/again"


async def test_app_start_up_freezes_its_heap_out_of_the_collector() -> None:
    """Full collections must not walk the ~100k start-up objects (100-350 ms pauses measured under load)."""
    import gc

    from mapmap.app import create_app
    from mapmap.config import Settings

    gc.unfreeze()
    try:
        app = create_app(Settings(DEMO_UPSTREAM=True, ENABLE_REQUEST_LOGGING=False))  # type: ignore[call-arg]
        assert gc.get_freeze_count() == 0
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        sent: list[str] = []
        started = asyncio.Event()

        async def send(message: dict[str, str]) -> None:
            sent.append(message["type"])
            started.set()

        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
        await asyncio.wait_for(started.wait(), 10)
        assert sent == ["lifespan.startup.complete"]
        assert gc.get_freeze_count() > 10_000
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(lifespan, 10)
    finally:
        gc.unfreeze()


async def test_a_body_nobody_reads_is_not_buffered_beyond_the_flow_control_mark(server: ScriptedServer) -> None:
    transport = PooledHTTP11Transport()
    async with client(transport) as http, http.stream("GET", f"http://127.0.0.1:{server.port}/endless") as response:
        first = await anext(response.aiter_raw())
        await asyncio.sleep(0.3)  # the server keeps writing while we do not read
        connection = response.stream._stream.connection  # type: ignore[attr-defined]  # httpx wraps our _Body
        assert first
        assert connection.reading_paused
        assert connection.buffered < 1024 * 1024
