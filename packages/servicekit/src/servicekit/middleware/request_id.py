"""X-Request-ID in and out, bound to the log context for the whole request."""

from __future__ import annotations

import os
import re

import structlog

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send, get_header

__all__ = ["RequestIdMiddleware"]

# Accept a caller's id only if it is short and harmless in logs and headers.
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = get_header(scope, b"x-request-id")
        request_id = incoming.decode() if incoming and _VALID_ID.match(incoming) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", encoded)]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
