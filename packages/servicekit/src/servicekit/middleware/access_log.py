"""One structured log event per request (method, path, status, duration, size, client).

With JSON logs the event goes through the buffered sink (`servicekit.logbuffer`): the request only
queues a tuple; rendering and writing happen in batches. The sink is flushed when the server's
lifespan shutdown completes, so a graceful stop loses no line.
"""

from __future__ import annotations

import time

import structlog

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send
from servicekit.clientip import TrustedProxies
from servicekit.logs import buffered_lines, get_logger

__all__ = ["AccessLogMiddleware"]

_LOGGER = "servicekit.access"
_get_context = structlog.contextvars.get_contextvars


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies
        self.log = get_logger(_LOGGER).bind()  # concrete once: logging is configured by now
        self.sink = buffered_lines()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self.app(scope, receive, self._flushing_on_shutdown(send))
            else:
                await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_and_measure(message: Message) -> None:
            nonlocal status, size
            kind = message["type"]
            if kind == "http.response.body":
                size += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_measure)
        finally:
            self._log(scope, int(status), size, time.perf_counter() - started)

    def _log(self, scope: Scope, status: int, size: int, seconds: float) -> None:
        agent = None
        for key, value in scope["headers"]:
            if key == b"user-agent":
                agent = bytes(value[:200]).decode("latin-1")
                break
        # The query string is left out on purpose: it can carry tokens.
        fields = {"method": scope["method"], "path": scope["path"], "status": status,
                  "duration_ms": round(seconds * 1000, 3), "bytes": size, "client": self.proxies.client_ip(scope),
                  "user_agent": agent}  # fmt: skip
        if self.sink.enabled:
            self.sink.emit(_LOGGER, "request", _get_context(), fields)
        else:
            self.log.info("request", **fields)

    def _flushing_on_shutdown(self, send: Send) -> Send:
        async def send_then_flush(message: Message) -> None:
            await send(message)
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.sink.flush()

        return send_then_flush
