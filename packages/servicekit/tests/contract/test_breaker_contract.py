"""One contract for the circuit breaker, run on memory and on Redis storage."""

from __future__ import annotations

import pytest
import redis.asyncio as redis
from servicekit.metrics import ServiceMetrics
from servicekit.resilience import (
    BreakerMetrics,
    BreakerOpenError,
    BreakerState,
    CircuitBreaker,
    MemoryBreakerStorage,
    RedisBreakerStorage,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def make_breaker(client: redis.Redis | None, clock: Clock, **kwargs: object) -> CircuitBreaker:
    storage = RedisBreakerStorage(client, key="breaker:upstream") if client is not None else MemoryBreakerStorage()
    options = {"failure_threshold": 3, "failure_window": 10.0, "recovery_timeout": 5.0, **kwargs}
    return CircuitBreaker("upstream", storage=storage, clock=clock, **options)  # type: ignore[arg-type]


async def fail() -> None:
    raise ConnectionError("down")


async def succeed() -> str:
    return "ok"


async def test_opens_after_threshold_refuses_then_half_opens_and_closes(redis_client: redis.Redis | None) -> None:
    clock = Clock()
    seen: list[tuple[BreakerState, BreakerState]] = []
    breaker = make_breaker(redis_client, clock, listeners=[lambda _n, old, new: seen.append((old, new))])
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    with pytest.raises(BreakerOpenError) as refused:
        await breaker.call(counted)
    assert calls == 0
    assert refused.value.retry_after == pytest.approx(5.0)
    clock.now += 5.0
    assert await breaker.call(counted) == "ok"
    assert breaker.state is BreakerState.CLOSED
    transitions = [(old, new) for old, new in seen if old is not new]
    assert transitions == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


async def test_failed_trial_reopens_and_half_open_admits_limited_trials(redis_client: redis.Redis | None) -> None:
    clock = Clock()
    breaker = make_breaker(redis_client, clock, half_open_max_calls=1)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    clock.now += 5.0
    await breaker.before_call()  # the single trial slot is taken...
    with pytest.raises(BreakerOpenError):
        await breaker.before_call()  # ...so a second caller is refused
    await breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 4.0
    with pytest.raises(BreakerOpenError):
        await breaker.call(succeed)


async def test_failures_outside_the_window_do_not_accumulate(redis_client: redis.Redis | None) -> None:
    clock = Clock()
    breaker = make_breaker(redis_client, clock)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    clock.now += 11.0
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED
    await breaker.call(succeed)
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED  # a success resets the count


async def test_errors_that_are_not_failures_keep_it_closed(redis_client: redis.Redis | None) -> None:
    breaker = make_breaker(redis_client, Clock(), counts_as_failure=lambda e: isinstance(e, ConnectionError))

    async def not_found() -> None:
        raise LookupError("404 is an answer, not an outage")

    for _ in range(5):
        with pytest.raises(LookupError):
            await breaker.call(not_found)
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.redis
async def test_redis_state_is_shared_by_breakers_in_different_processes(redis_server) -> None:
    clock = Clock()
    one, two = redis.Redis.from_url(redis_server.url), redis.Redis.from_url(redis_server.url)
    try:
        first, second = make_breaker(one, clock), make_breaker(two, clock)
        for _ in range(3):
            with pytest.raises(ConnectionError):
                await first.call(fail)
        with pytest.raises(BreakerOpenError):
            await second.call(succeed)
        assert second.state is BreakerState.OPEN
    finally:
        await one.aclose()
        await two.aclose()


async def test_state_gauge_and_transition_counter() -> None:
    metrics = ServiceMetrics("unit")
    listener = BreakerMetrics(metrics, gauge_name="circuit_breaker_state", label="node")
    breaker = CircuitBreaker("db_g1", failure_threshold=1, listeners=[listener])
    registry = metrics.registry
    assert registry.get_sample_value("circuit_breaker_state", {"node": "db_g1"}) == 0
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert registry.get_sample_value("circuit_breaker_state", {"node": "db_g1"}) == 2
    labels = {"node": "db_g1", "from_state": "CLOSED", "to_state": "OPEN"}
    assert registry.get_sample_value("unit_circuit_breaker_transitions_total", labels) == 1
