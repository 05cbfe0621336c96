"""The circuit-breaker port: capstore takes any breaker with `async call(fn)` and a `state`.

servicekit's `CircuitBreaker` fits as is (its `state` is an IntEnum 0 CLOSED, 1 HALF_OPEN, 2 OPEN and
`call` raises at once while open). `NullBreaker` is the always-closed stand-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, Protocol, TypeVar

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "Breaker", "NullBreaker", "is_open"]

T = TypeVar("T")

CLOSED: Final = 0
HALF_OPEN: Final = 1
OPEN: Final = 2


class Breaker(Protocol):
    @property
    def state(self) -> int: ...

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T: ...


class NullBreaker:
    """Never opens: every call goes through."""

    state: int = CLOSED

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await fn()


def is_open(breaker: Breaker) -> bool:
    return int(breaker.state) == OPEN
