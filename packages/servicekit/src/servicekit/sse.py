"""Server-Sent Events framing shared by every streaming endpoint.

`SSE_HEADERS` turn off proxy buffering (`X-Accel-Buffering: no` is honoured by nginx whatever its
configuration) and caching; `sse_event` formats one event; `sse_stream` adds heartbeats and ends
when the server is shutting down, so a stream never holds a worker past the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from servicekit.shutdown import until_shutdown

__all__ = ["SSE_HEADERS", "sse_comment", "sse_event", "sse_stream"]

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",
}


def sse_event(data: Any, *, event: str | None = None, id: str | None = None, retry_ms: int | None = None) -> bytes:
    """One event; `data` that is not a string is sent as compact JSON."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def sse_comment(text: str = "heartbeat") -> bytes:
    return f": {text}\n\n".encode()


async def sse_stream(events: AsyncIterator[bytes], *, heartbeat_seconds: float = 15.0) -> AsyncIterator[bytes]:
    """Relay `events`, inserting a heartbeat comment whenever the source is quiet, until shutdown."""

    async def with_heartbeats() -> AsyncIterator[bytes]:
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=heartbeat_seconds)
                if not done:
                    yield sse_comment()
                    continue
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield chunk
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async for chunk in until_shutdown(with_heartbeats()):
        yield chunk
