"""An async circuit breaker: CLOSED → OPEN after `failure_threshold` failures within
`failure_window` seconds, OPEN refuses calls at once for `recovery_timeout`, then HALF_OPEN lets
`half_open_max_calls` trial calls through; a trial success closes it, a trial failure re-opens it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from servicekit.resilience.breaker_storage import BreakerState, BreakerStorage, Decision, MemoryBreakerStorage

__all__ = ["BreakerListener", "BreakerOpenError", "CircuitBreaker"]

T = TypeVar("T")
BreakerListener = Callable[[str, BreakerState, BreakerState], None]
"""Called with (breaker name, old state, new state) on every transition this process observes."""


class BreakerOpenError(Exception):
    """The breaker refused the call without trying it; `retry_after` seconds until a trial may pass."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.name = name
        self.retry_after = max(retry_after, 0.0)
        super().__init__(f"circuit breaker {name!r} is open; retry in {self.retry_after:.1f}s")


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        failure_window: float = 60.0,
        recovery_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        storage: BreakerStorage | None = None,
        listeners: Sequence[BreakerListener] = (),
        counts_as_failure: Callable[[BaseException], bool] = lambda error: isinstance(error, Exception),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1:
            raise ValueError("failure_threshold and half_open_max_calls must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.failure_window = failure_window
        self.recovery_timeout = recovery_timeout
        self.half_open_max_calls = half_open_max_calls
        self.storage: BreakerStorage = storage or MemoryBreakerStorage()
        self.listeners = list(listeners)
        self.counts_as_failure = counts_as_failure
        self.clock = clock
        self.state = BreakerState.CLOSED
        """The last state this process saw (cheap to read; the storage holds the truth)."""
        for listener in self.listeners:
            listener(self.name, self.state, self.state)

    def _observe(self, decision: Decision) -> None:
        self.state = decision.state
        if decision.previous is not decision.state:
            for listener in self.listeners:
                listener(self.name, decision.previous, decision.state)

    async def before_call(self) -> None:
        """Raise BreakerOpenError if the call must not be tried now."""
        decision = await self.storage.before_call(self.clock(), self.recovery_timeout, self.half_open_max_calls)
        self._observe(decision)
        if not decision.allowed:
            raise BreakerOpenError(self.name, decision.retry_after)

    async def record_success(self) -> None:
        self._observe(await self.storage.on_success(self.clock()))

    async def record_failure(self) -> None:
        self._observe(await self.storage.on_failure(self.clock(), self.failure_threshold, self.failure_window))

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` through the breaker; its exceptions propagate after being counted."""
        storage = self.storage
        if type(storage) is MemoryBreakerStorage and storage.state is self.state is BreakerState.CLOSED:
            # The common case without a storage step per call (a hot path: one per Redis command in
            # capstore): a closed in-process breaker lets the call through, and a success while it
            # is still closed only clears the failure count, exactly as `on_success` would.
            try:
                result = await fn()
            except BaseException as error:
                await self._count(error)
                raise
            if storage.state is BreakerState.CLOSED:
                storage.failures = 0
            else:
                await self.record_success()
            return result
        await self.before_call()
        try:
            result = await fn()
        except BaseException as error:
            await self._count(error)
            raise
        await self.record_success()
        return result

    async def _count(self, error: BaseException) -> None:
        # A cancelled trial counts as a failure, or a half-open breaker would wait forever for it.
        if self.counts_as_failure(error) or not isinstance(error, Exception):
            await self.record_failure()
        else:
            await self.record_success()

    async def force_state(self, state: BreakerState) -> None:
        """Operator override (e.g. open a breaker by hand during maintenance)."""
        self._observe(await self.storage.force(state, self.clock()))
