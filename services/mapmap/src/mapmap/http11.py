"""A lean HTTP/1.1 keep-alive transport for httpx: asyncio protocols + httptools, no per-request polling.

Why: profiling cold misses showed httpx's default transport (httpcore over anyio) spending most of a
miss's CPU on pool bookkeeping (a readability syscall per idle connection per request), anyio stream
wrappers and h11. This transport keeps httpx's client API, timeouts and exceptions, and does only
what an upstream tile fetch needs: a LIFO pool of keep-alive connections per origin whose closing
is noticed by the event loop (no polling), streamed bodies (content-length, chunked or until close),
one transparent retry when a reused idle connection turns out to be closed, and TLS via asyncio.
No proxies and no HTTP/2: `UPSTREAM_TRANSPORT=httpcore` selects httpx's own transport for those.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator

import httptools
import httpx

__all__ = ["PooledHTTP11Transport"]

_Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Flow control: stop reading from the socket while this much body is buffered and unread, so a
# huge or endless upstream body cannot grow memory faster than the size cap above us consumes it.
_PAUSE_READING_AT = 256 * 1024


class _StaleConnection(Exception):
    """A reused idle connection closed before any byte of the answer arrived: safe to resend."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._begin()

    def _begin(self) -> None:
        if getattr(self, "reading_paused", False) and self.transport is not None:
            self.transport.resume_reading()  # a reused connection whose last body was left unread
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.reading_paused = False
        self.head_done = False
        self.complete = False
        self.received = False
        self.error: Exception | None = None
        self.framed = False  # Content-Length or chunked; otherwise the body ends with the connection
        self.keep_alive = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.error = httpx.RemoteProtocolError(f"malformed HTTP response: {error}")
            self.close()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        if self.head_done and not self.complete and not self.framed and self.error is None:
            self.complete = True  # a body delimited by the end of the connection
        elif not self.complete and self.error is None:
            self.error = _StaleConnection() if not self.received else httpx.RemoteProtocolError("upstream disconnected")
        self._wake()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (lowered == b"transfer-encoding" and b"chunked" in value.lower()):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered >= _PAUSE_READING_AT and not self.reading_paused and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def take_chunk(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered < _PAUSE_READING_AT // 2 and self.transport is not None:
            self.transport.resume_reading()
            self.reading_paused = False
        return chunk

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # the parser forgets it once the message is done
        self.complete = True
        self._wake()

    # used by the transport

    @property
    def reusable(self) -> bool:
        return not self.closed and self.complete and self.error is None and self.keep_alive

    def send(self, data: bytes) -> None:
        self._begin()
        assert self.transport is not None
        self.transport.write(data)

    async def wait(self, seconds: float | None) -> None:
        """Until the protocol has news (head, a chunk, the end, an error) or `seconds` pass (None: no limit)."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(seconds):
                await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


class _Body(httpx.AsyncByteStream):
    def __init__(self, pool: PooledHTTP11Transport, origin: _Origin, connection: _Connection, timeout: float | None):
        self.pool, self.origin, self.connection, self.timeout = pool, origin, connection, timeout
        self.released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self.connection
        while True:
            while connection.chunks:
                yield connection.take_chunk()
            if connection.complete:
                return
            if connection.error is not None:
                raise httpx.RemoteProtocolError("upstream disconnected in the middle of a response")
            try:
                await connection.wait(self.timeout)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out reading the response body") from None

    async def aclose(self) -> None:
        if not self.released:
            self.released = True
            self.pool.release(self.origin, self.connection)


class PooledHTTP11Transport(httpx.AsyncBaseTransport):
    def __init__(
        self, *, max_connections: int = 16, keepalive_expiry: float = 5.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if request.method == "HEAD":
            raise httpx.UnsupportedProtocol("HEAD is not supported by this transport", request=request)
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        timeouts = request.extensions.get("timeout", {})
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no upstream connection free in time", request=request) from None
        try:
            payload = await self._payload(request)
            connection = await self._exchange(request, origin, payload, timeouts)
        except BaseException:
            self._slots.release()
            raise
        stream = _Body(self, origin, connection, timeouts.get("read"))
        return httpx.Response(
            connection.status, headers=connection.headers, stream=stream, extensions={"http_version": b"HTTP/1.1"}
        )

    async def _payload(self, request: httpx.Request) -> bytes:
        body = b"" if request.method in _BODYLESS else await request.aread()
        lines = [f"{request.method} ".encode() + request.url.raw_path + b" HTTP/1.1"]
        lines += [name + b": " + value for name, value in request.headers.raw]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _exchange(
        self, request: httpx.Request, origin: _Origin, payload: bytes, timeouts: dict[str, float | None]
    ) -> _Connection:
        """Send on an idle connection (or a new one) and wait for the response head."""
        while True:
            connection = self._take_idle(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(request, origin, timeouts.get("connect"))
            connection.send(payload)
            try:
                while not connection.head_done:
                    if connection.error is not None:
                        raise connection.error
                    await connection.wait(timeouts.get("read"))
                return connection
            except _StaleConnection:
                connection.close()
                if not reused:
                    raise httpx.RemoteProtocolError("upstream closed the connection without answering") from None
            except TimeoutError:
                connection.close()
                raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
            except BaseException:
                connection.close()
                raise

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive_expiry:
                return connection
            connection.close()
        return None

    async def _connect(self, request: httpx.Request, origin: _Origin, seconds: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = {"ssl": self._ssl(), "server_hostname": host} if scheme == "https" else {}
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(_Connection, host, port, **tls)  # type: ignore[arg-type]
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting to the upstream", request=request) from None
        except (OSError, ssl.SSLError) as error:
            raise httpx.ConnectError(f"cannot connect: {type(error).__name__}", request=request) from None
        return connection

    def release(self, origin: _Origin, connection: _Connection) -> None:
        """A response is done with its connection: keep it for the next request, or close it."""
        assert self._slots is not None
        self._slots.release()
        if self._closed or not connection.reusable:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(connection)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
