"""Request coalescing: N concurrent callers of one key share one call (no polling).

The call runs as its own task, so a caller that gives up (timeout, disconnect) neither cancels the
work for the others nor leaves them waiting on a dead future.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self, on_coalesced: Callable[[K], None] | None = None) -> None:
        self._inflight: dict[K, asyncio.Task[V]] = {}
        self.on_coalesced = on_coalesced
        self.calls = 0
        self.coalesced = 0

    def inflight(self) -> int:
        return len(self._inflight)

    async def do(self, key: K, fn: Callable[[], Awaitable[V]]) -> V:
        task = self._inflight.get(key)
        if task is None:
            self.calls += 1
            task = asyncio.ensure_future(fn())
            self._inflight[key] = task
            task.add_done_callback(lambda done, key=key: self._forget(key, done))  # type: ignore[misc]
        else:
            self.coalesced += 1
            if self.on_coalesced is not None:
                self.on_coalesced(key)
        return await asyncio.shield(task)

    def _forget(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter may have gone away
