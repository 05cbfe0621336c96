"""The process-wide shutdown signal that long-lived handlers (SSE, WebSocket) watch.

`serve` sets it the moment the server is asked to stop (SIGTERM/SIGINT), before uvicorn starts
waiting for open connections, so streams can end themselves inside the grace period instead of
being cut off when it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import TypeVar

__all__ = ["is_shutting_down", "request_shutdown", "reset_shutdown", "until_shutdown", "wait_for_shutdown"]

T = TypeVar("T")

_flag = threading.Event()
_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_lock = threading.Lock()


def request_shutdown() -> None:
    """Mark the process as shutting down and wake every waiter (safe from signal handlers and threads)."""
    _flag.set()
    with _lock:
        waiters = list(_waiters)
    for loop, event in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


def reset_shutdown() -> None:
    """Clear the flag (a new server in the same process, e.g. in tests)."""
    _flag.clear()


def is_shutting_down() -> bool:
    return _flag.is_set()


async def wait_for_shutdown() -> None:
    """Return once shutdown has been requested."""
    if _flag.is_set():
        return
    event = asyncio.Event()
    entry = (asyncio.get_running_loop(), event)
    with _lock:
        _waiters.add(entry)
    try:
        if not _flag.is_set():
            await event.wait()
    finally:
        with _lock:
            _waiters.discard(entry)


async def until_shutdown(stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yield from `stream` until it ends or shutdown is requested, whichever comes first.

    If the consumer goes away (e.g. the client disconnects and the server cancels the response),
    the step in flight is cancelled first, so `stream` sees the cancellation at its own await
    (a database call is cancelled, not waited for) before it is closed.
    """
    shutdown = asyncio.ensure_future(wait_for_shutdown())
    step: asyncio.Future[T] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait({step, shutdown}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        shutdown.cancel()
        if step is not None and not step.done():
            # Let the cancelled step unwind before closing the generator it is running in.
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
