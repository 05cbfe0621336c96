"""An in-process sliding-window counter: the memory-storage fast path of the rate limiter.

Same arithmetic as the `limits` library's sliding-window-counter strategy (previous window weighted
by the share of it still inside the sliding window, plus the current window; `floor` of that
against the limit; same remaining count and reset time), so memory and Redis storage answer alike.
It is synchronous and allocation-light: a hit is a dict lookup and a few float operations instead
of a dozen awaited storage calls. Counters of clients idle for two windows are swept periodically,
so memory stays bounded by the clients of the last two windows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from limits import RateLimitItem

__all__ = ["LocalSlidingWindow", "WindowVerdict"]

WindowVerdict = tuple[bool, int, int, float]
"""(allowed, index of the deciding limit, remaining, reset_at as a unix time)."""


class _Window:
    """The counters of one limit: per key [window index, previous count, current count]."""

    __slots__ = ("amount", "counters", "expiry", "next_sweep")

    def __init__(self, amount: int, expiry: int) -> None:
        self.amount = amount
        self.expiry = expiry
        self.counters: dict[str, list[int]] = {}
        self.next_sweep = 0.0

    def sweep(self, index: int, now: float) -> None:
        stale = [key for key, (seen, _, _) in self.counters.items() if seen < index - 1]
        for key in stale:
            del self.counters[key]
        self.next_sweep = now + self.expiry

    def hit(self, key: str, now: float) -> tuple[bool, int, float, int, int]:
        """(allowed, remaining, elapsed share of the window, previous count, current count); the
        reset time is worked out only for the limit that decides (`reset_at`)."""
        expiry = self.expiry
        index = int(now // expiry)
        if now >= self.next_sweep:
            self.sweep(index, now)
        counter = self.counters.get(key)
        if counter is None:
            counter = self.counters[key] = [index, 0, 0]
        elif counter[0] != index:
            previous = counter[2] if counter[0] == index - 1 else 0
            counter[0], counter[1], counter[2] = index, previous, 0
        _, previous, current = counter
        elapsed = (now % expiry) / expiry
        previous_weight = previous * (1 - elapsed)
        allowed = math.floor(previous_weight + current) + 1 <= self.amount
        if allowed:
            current += 1
            counter[2] = current
        remaining = max(0, self.amount - math.floor(previous_weight + current))
        return allowed, remaining, elapsed, previous, current

    def reset_at(self, now: float, elapsed: float, previous: int, current: int) -> float:
        if not (previous or current):
            return now
        expiry = self.expiry
        previous_ttl = (1 - elapsed) * expiry
        reset_in = math.inf
        if previous:
            reset_in = previous_ttl % (expiry / previous)
        if current:
            reset_in = min(reset_in, (previous_ttl + expiry) % expiry)
        return now + reset_in


class LocalSlidingWindow:
    """Counts one hit for a key against every limit, in order, like `RateLimiter.hit` does on `limits`."""

    def __init__(self, items: Sequence[RateLimitItem], *, clock: Callable[[], float] = time.time) -> None:
        self.windows = [_Window(item.amount, item.get_expiry()) for item in items]
        self.clock = clock

    def hit(self, key: str) -> WindowVerdict:
        now = self.clock()
        tightest: tuple[int, _Window, int, float, int, int] | None = None
        for position, window in enumerate(self.windows):
            allowed, remaining, elapsed, previous, current = window.hit(key, now)
            if not allowed:
                return False, position, remaining, window.reset_at(now, elapsed, previous, current)
            if tightest is None or remaining < tightest[2]:
                tightest = (position, window, remaining, elapsed, previous, current)
        assert tightest is not None
        position, window, remaining, elapsed, previous, current = tightest
        return True, position, remaining, window.reset_at(now, elapsed, previous, current)

    def tracked_keys(self) -> int:
        return sum(len(window.counters) for window in self.windows)
