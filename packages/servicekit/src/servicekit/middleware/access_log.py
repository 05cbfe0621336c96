"""One structured log event per request (method, path, status, duration, size, client).

A handler whose request is itself an audited event (a write) can put that event on the request's
line with `annotate_access_line` instead of logging a second line: the line then carries the event's
name and fields next to the request's, one line and one render per request.

With JSON logs the event goes through the buffered sink (`servicekit.logbuffer`): the request only
queues a tuple; rendering and writing happen in batches. The sink is flushed when the server's
lifespan shutdown completes, so a graceful stop loses no line.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

import structlog

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send
from servicekit.clientip import TrustedProxies
from servicekit.logs import buffered_lines, get_logger

__all__ = ["AccessLogMiddleware", "annotate_access_line"]

_LOGGER = "servicekit.access"
_get_context = structlog.contextvars.get_contextvars


class _Annotation:
    __slots__ = ("event", "fields", "open")

    def __init__(self) -> None:
        self.event = "request"
        self.fields: dict[str, Any] | None = None
        self.open = True


_CURRENT: ContextVar[_Annotation | None] = ContextVar("servicekit_access_line", default=None)


def annotate_access_line(event: str, /, **fields: Any) -> bool:
    """Name the current request's access line `event` and add `fields` to it (the request's own
    fields win a clash). False when there is no line to carry them (no request in progress, request
    logging off, or the line already carries an event): then log the event on its own line."""
    line = _CURRENT.get()
    if line is None or not line.open or line.fields is not None:
        return False
    line.event = event
    line.fields = fields
    return True


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
        line = _Annotation()
        token = _CURRENT.set(line)

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
            line.open = False  # a task the request started must not annotate a line already written
            _CURRENT.reset(token)
            self._log(scope, int(status), size, time.perf_counter() - started, line)

    def _log(self, scope: Scope, status: int, size: int, seconds: float, line: _Annotation) -> None:
        agent = None
        for key, value in scope["headers"]:
            if key == b"user-agent":
                agent = bytes(value[:200]).decode("latin-1")
                break
        # The query string is left out on purpose: it can carry tokens.
        fields = {"method": scope["method"], "path": scope["path"], "status": status,
                  "duration_ms": round(seconds * 1000, 3), "bytes": size, "client": self.proxies.client_ip(scope),
                  "user_agent": agent}  # fmt: skip
        if line.fields:
            fields = {**line.fields, **fields}
        if self.sink.enabled:
            self.sink.emit(_LOGGER, line.event, _get_context(), fields)
        else:
            self.log.info(line.event, **fields)

    def _flushing_on_shutdown(self, send: Send) -> Send:
        async def send_then_flush(message: Message) -> None:
            await send(message)
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.sink.flush()

        return send_then_flush
