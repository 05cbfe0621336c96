"""Where a circuit breaker keeps its state: this process's memory, or Redis (shared by replicas).

Each operation is one atomic step of the state machine (Lua on Redis), so concurrent processes
sharing a breaker never interleave a read-modify-write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import redis.asyncio as redis

__all__ = ["BreakerState", "BreakerStorage", "Decision", "MemoryBreakerStorage", "RedisBreakerStorage"]


class BreakerState(IntEnum):
    """Exported as a gauge: 0 CLOSED, 1 HALF_OPEN, 2 OPEN."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class Decision:
    """Outcome of one state-machine step: whether a call may proceed, the state after the step,
    the state before it (to detect transitions) and, when refused, seconds until a retry may pass."""

    allowed: bool
    state: BreakerState
    previous: BreakerState
    retry_after: float = 0.0


class BreakerStorage(Protocol):
    async def before_call(self, now: float, recovery_timeout: float, half_open_max_calls: int) -> Decision: ...
    async def on_success(self, now: float) -> Decision: ...
    async def on_failure(self, now: float, threshold: int, window: float) -> Decision: ...
    async def force(self, state: BreakerState, now: float) -> Decision: ...


class MemoryBreakerStorage:
    def __init__(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.first_failure_at = 0.0
        self.opened_at = 0.0
        self.trial_calls = 0

    async def before_call(self, now: float, recovery_timeout: float, half_open_max_calls: int) -> Decision:
        previous = self.state
        if self.state is BreakerState.OPEN:
            waited = now - self.opened_at
            if waited < recovery_timeout:
                return Decision(False, self.state, previous, recovery_timeout - waited)
            self.state, self.trial_calls = BreakerState.HALF_OPEN, 0
        if self.state is BreakerState.HALF_OPEN:
            if self.trial_calls >= half_open_max_calls:
                return Decision(False, self.state, previous, recovery_timeout)
            self.trial_calls += 1
        return Decision(True, self.state, previous)

    async def on_success(self, now: float) -> Decision:
        previous = self.state
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.CLOSED
        if self.state is BreakerState.CLOSED:
            self.failures = 0
        return Decision(True, self.state, previous)

    async def on_failure(self, now: float, threshold: int, window: float) -> Decision:
        previous = self.state
        if self.state is BreakerState.HALF_OPEN:
            self.state, self.opened_at = BreakerState.OPEN, now
        elif self.state is BreakerState.CLOSED:
            if self.failures == 0 or now - self.first_failure_at > window:
                self.failures, self.first_failure_at = 0, now
            self.failures += 1
            if self.failures >= threshold:
                self.state, self.opened_at, self.failures = BreakerState.OPEN, now, 0
        return Decision(True, self.state, previous)

    async def force(self, state: BreakerState, now: float) -> Decision:
        previous = self.state
        self.state, self.opened_at, self.failures, self.trial_calls = state, now, 0, 0
        return Decision(True, self.state, previous)


# KEYS[1] = breaker hash. Fields: s (state), f (failures), ff (first failure), o (opened at), t (trial calls).
_BEFORE = """
local s = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local prev = s
local now, recovery, max_trials = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if s == 2 then
  local waited = now - tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
  if waited < recovery then return {0, s, prev, tostring(recovery - waited)} end
  s = 1
  redis.call('HSET', KEYS[1], 's', 1, 't', 0)
end
if s == 1 then
  local trials = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
  if trials >= max_trials then return {0, s, prev, tostring(recovery)} end
  redis.call('HINCRBY', KEYS[1], 't', 1)
end
return {1, s, prev, '0'}
"""
_SUCCESS = """
local s = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local prev = s
if s == 1 then s = 0; redis.call('HSET', KEYS[1], 's', 0) end
if s == 0 then redis.call('HSET', KEYS[1], 'f', 0) end
return {1, s, prev, '0'}
"""
_FAILURE = """
local s = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local prev = s
local now, threshold, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if s == 1 then
  s = 2
  redis.call('HSET', KEYS[1], 's', 2, 'o', ARGV[1])
elseif s == 0 then
  local f = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
  local ff = tonumber(redis.call('HGET', KEYS[1], 'ff') or '0')
  if f == 0 or now - ff > window then f = 0; redis.call('HSET', KEYS[1], 'ff', ARGV[1]) end
  f = f + 1
  if f >= threshold then
    s = 2
    redis.call('HSET', KEYS[1], 's', 2, 'o', ARGV[1], 'f', 0)
  else
    redis.call('HSET', KEYS[1], 'f', f)
  end
end
return {1, s, prev, '0'}
"""
_FORCE = """
local prev = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
redis.call('HSET', KEYS[1], 's', ARGV[1], 'o', ARGV[2], 'f', 0, 't', 0)
return {1, tonumber(ARGV[1]), prev, '0'}
"""


class RedisBreakerStorage:
    """Breaker state in one Redis hash, shared by every process using the same `key`."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.key = key
        self._before = client.register_script(_BEFORE)
        self._success = client.register_script(_SUCCESS)
        self._failure = client.register_script(_FAILURE)
        self._force = client.register_script(_FORCE)

    @staticmethod
    def _decision(raw: list[bytes | int]) -> Decision:
        allowed, state, previous, retry_after = raw
        return Decision(bool(int(allowed)), BreakerState(int(state)), BreakerState(int(previous)), float(retry_after))

    async def before_call(self, now: float, recovery_timeout: float, half_open_max_calls: int) -> Decision:
        return self._decision(
            await self._before(keys=[self.key], args=[repr(now), recovery_timeout, half_open_max_calls])
        )

    async def on_success(self, now: float) -> Decision:
        return self._decision(await self._success(keys=[self.key], args=[repr(now)]))

    async def on_failure(self, now: float, threshold: int, window: float) -> Decision:
        return self._decision(await self._failure(keys=[self.key], args=[repr(now), threshold, window]))

    async def force(self, state: BreakerState, now: float) -> Decision:
        return self._decision(await self._force(keys=[self.key], args=[int(state), repr(now)]))
