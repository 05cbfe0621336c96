"""Minimal ASGI types and helpers shared by the middleware (no framework dependency)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

__all__ = [
    "RESPONSE_HEADERS",
    "ASGIApp",
    "Headers",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "get_header",
    "send_json",
    "send_response",
    "with_response_headers",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

RESPONSE_HEADERS = "servicekit.response_headers"
"""Scope key of the list of headers an outer layer appends to the response start (see below)."""


def get_header(scope: Scope, name: bytes) -> bytes | None:
    """First value of a request header (`name` in lower case), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def send_response(
    send: Send, status: int, body: bytes, content_type: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    response_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send,
    status: int,
    payload: Any,
    headers: Iterable[tuple[bytes, bytes]] = (),
    content_type: bytes = b"application/json",
) -> None:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    await send_response(send, status, body, content_type, headers)


def with_response_headers(scope: Scope, send: Send, headers: Iterable[tuple[bytes, bytes]]) -> Send:
    """A `send` that appends `headers` to the response start.

    When an outer layer collects response headers (the security-headers layer puts a list under
    RESPONSE_HEADERS in the scope), the headers join that list and `send` is returned unchanged:
    one send wrapper per request instead of one per layer. Otherwise `send` is wrapped here.
    """
    collected = scope.get(RESPONSE_HEADERS)
    if collected is not None:
        collected.extend(headers)
        return send
    extra = tuple(headers)

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return send_with_headers
