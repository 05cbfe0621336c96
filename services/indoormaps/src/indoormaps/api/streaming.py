"""Quiet client disconnects around servicekit's SSE/shutdown wrappers.

On a client disconnect Django cancels the task iterating the response. Cancelled while it waits,
servicekit's `until_shutdown` closes its source generator while that generator is still running
in its step task ("aclose(): asynchronous generator is already running", logged as an ASGI error).
So the response never exposes servicekit's wrapper to that cancellation: `disconnect_safe` waits
on it through `asyncio.shield`, and on cancellation interrupts the source instead — the database
call in flight is cancelled (psycopg then cancels the query in the server) and the source returns,
which lets every wrapper finish normally. Shutdown still ends streams through servicekit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

__all__ = ["Interrupted", "Interrupter", "disconnect_safe"]

T = TypeVar("T")


class Interrupted(Exception):
    """Raised inside a source generator when its consumer went away; the generator just returns."""


class Interrupter:
    """Runs a source's awaits as tasks, so a disconnect can cancel exactly the call in flight."""

    def __init__(self) -> None:
        self.interrupted = False
        self._current: asyncio.Future[object] | None = None

    async def run(self, awaitable: Awaitable[T]) -> T:
        if self.interrupted:
            raise Interrupted
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        self._current = task  # type: ignore[assignment]
        try:
            return await task
        except asyncio.CancelledError:
            if self.interrupted and not _cancelling():
                raise Interrupted from None
            raise
        finally:
            self._current = None

    def interrupt(self) -> None:
        self.interrupted = True
        if self._current is not None and not self._current.done():
            self._current.cancel()


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled (not only the call it awaited)."""
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


async def disconnect_safe(
    stream: AsyncIterator[bytes], interrupter: Interrupter, *, grace_s: float = 5.0
) -> AsyncIterator[bytes]:
    step: asyncio.Future[bytes] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(stream))
            try:
                chunk = await asyncio.shield(step)
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                interrupter.interrupt()
                await asyncio.wait({step}, timeout=grace_s)
                if step.done() and not step.cancelled():
                    step.exception()  # retrieved: the stream ended (StopAsyncIteration) or failed quietly
                raise
            yield chunk
    finally:
        if step is None or step.done():
            with contextlib.suppress(RuntimeError):
                await stream.aclose()  # type: ignore[attr-defined]
