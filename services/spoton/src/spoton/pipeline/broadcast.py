"""Fan-out of live per-frame messages to WebSocket clients, without ever waiting for one.

Each subscriber has a bounded queue. `publish` never awaits: when a queue is full the oldest
message is dropped (live views want the newest frame) and the subscriber's `dropped` count grows,
so a slow client loses frames instead of slowing the pipeline or other clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Broadcaster", "Subscription"]


@dataclass(eq=False)
class Subscription:
    topic: str
    queue: asyncio.Queue[dict[str, Any]]
    dropped: int = 0
    delivered: int = 0
    closed: bool = False
    frames: bool = False  # also wants the camera images (the publisher attaches them only then)
    _take_dropped: int = field(default=0, repr=False)

    async def get(self) -> dict[str, Any]:
        message = await self.queue.get()
        self.delivered += 1
        # Tell the client how many messages it missed since the previous one it received.
        missed, self._take_dropped = self.dropped - self._take_dropped, self.dropped
        return {**message, "dropped": missed} if missed else message


class Broadcaster:
    def __init__(self, queue_size: int, *, on_drop: Callable[[int], None] | None = None) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.queue_size = queue_size
        self._topics: dict[str, set[Subscription]] = {}
        self._on_drop = on_drop
        self.dropped_total = 0

    def subscribe(self, topic: str, *, frames: bool = False) -> Subscription:
        sub = Subscription(topic, asyncio.Queue(maxsize=self.queue_size), frames=frames)
        self._topics.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        subs = self._topics.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._topics[sub.topic]

    def subscribers(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(s) for s in self._topics.values())

    def wants_frames(self, topic: str) -> bool:
        """Does any subscriber of `topic` want images? (Publishers skip attaching them otherwise.)"""
        return any(sub.frames for sub in self._topics.get(topic, ()))

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Deliver to every subscriber of `topic` now; never blocks (call from the event loop)."""
        for sub in tuple(self._topics.get(topic, ())):
            while True:
                try:
                    sub.queue.put_nowait(message)
                    break
                except asyncio.QueueFull:
                    try:
                        sub.queue.get_nowait()
                    except asyncio.QueueEmpty:  # pragma: no cover - a consumer raced us; retry
                        continue
                    sub.dropped += 1
                    self.dropped_total += 1
                    if self._on_drop is not None:
                        self._on_drop(1)

    def clear(self) -> int:
        """Drop every queued message (the clear-cache endpoint); return how many."""
        count = 0
        for subs in self._topics.values():
            for sub in subs:
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                    sub.dropped += 1
                    count += 1
        return count
