"""A time budget for one conversion: each stage checks it, Graphviz runs get only what is left of it.

Threads cannot be killed, so the budget is cooperative: the lexer, the mapper and the writers check
it as they go and raise `TimeBudgetExceededError`, which ends the conversion and frees its worker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import TimeBudgetExceededError

__all__ = ["Deadline", "active_deadline", "deadline_scope"]


class Deadline:
    """`seconds` from now (None: no limit); `check(stage)` raises once the time is up."""

    __slots__ = ("_clock", "_ends", "seconds")

    def __init__(self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds is not None and seconds <= 0:
            raise ValueError("a time budget must be positive (None: no limit)")
        self.seconds = seconds
        self._clock = clock
        self._ends = math.inf if seconds is None else clock() + seconds

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(None)

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self._ends

    def check(self, stage: str) -> None:
        if self.seconds is not None and self._clock() >= self._ends:
            raise TimeBudgetExceededError(stage, self.seconds)


_ACTIVE: ContextVar[Deadline | None] = ContextVar("dot2archimate_deadline", default=None)


def active_deadline() -> Deadline | None:
    """The deadline of the conversion running in this thread, for code lark calls back into."""
    return _ACTIVE.get()


@contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[None]:
    token = _ACTIVE.set(deadline)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
