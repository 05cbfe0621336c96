"""Bounded retries with full jitter (AWS architecture blog's "full jitter" backoff)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["retry"]

T = TypeVar("T")


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.05,
    max_delay: float = 1.0,
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError),
    rng: random.Random | None = None,
) -> T:
    """Call `fn` up to `attempts` times, sleeping uniform(0, min(max_delay, base*2**n)) between tries.

    Only exceptions in `retry_on` are retried; the last one propagates unchanged.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return await fn()
        except retry_on:
            if attempt == attempts - 1:
                raise
            # seeded only when a retry happens: seeding reads os.urandom, a cost on every call otherwise
            rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
            await asyncio.sleep(rng.uniform(0, min(max_delay, base_delay * 2**attempt)))
    raise AssertionError("unreachable")
