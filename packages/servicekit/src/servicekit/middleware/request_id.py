"""X-Request-ID in and out, bound to the log context for the whole request."""

from __future__ import annotations

import itertools
import os
import re

from structlog.contextvars import bind_contextvars, reset_contextvars

from servicekit.asgi import ASGIApp, Receive, Scope, Send, with_response_headers

__all__ = ["RequestIdMiddleware"]

# Accept a caller's id only if it is short and harmless in logs and headers.
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Fresh ids: a random per-process prefix plus a counter (unique, 32 hex digits, cheap).
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def _new_id(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = bytes(value)
                break
        request_id = incoming.decode() if incoming and _VALID_ID.match(incoming) else self._new_id()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = request_id
        send = with_response_headers(scope, send, ((b"x-request-id", request_id.encode()),))
        tokens = bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_contextvars(**tokens)
