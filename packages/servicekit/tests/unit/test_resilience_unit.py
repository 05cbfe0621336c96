from __future__ import annotations

import asyncio
import random

import pytest
from servicekit import until_shutdown
from servicekit.resilience import SingleFlight, retry
from servicekit.shutdown import request_shutdown, reset_shutdown


async def test_single_flight_runs_one_call_for_many_waiters() -> None:
    calls = 0
    release = asyncio.Event()

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"tile"

    flight: SingleFlight[str, bytes] = SingleFlight()
    waiters = [asyncio.create_task(flight.do("z/x/y", fetch)) for _ in range(50)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*waiters) == [b"tile"] * 50
    assert (calls, flight.calls, flight.coalesced, flight.inflight()) == (1, 1, 49, 0)


async def test_single_flight_survives_the_leader_giving_up_and_shares_errors() -> None:
    release = asyncio.Event()

    async def fetch() -> bytes:
        await release.wait()
        raise ConnectionError("upstream down")

    flight: SingleFlight[str, bytes] = SingleFlight()
    leader = asyncio.create_task(flight.do("k", fetch))
    follower = asyncio.create_task(flight.do("k", fetch))
    await asyncio.sleep(0.01)
    leader.cancel()
    release.set()
    with pytest.raises(ConnectionError, match="upstream down"):
        await follower
    assert flight.calls == 1


async def test_retry_is_bounded_and_only_for_listed_errors() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError
        return "ok"

    assert await retry(flaky, attempts=3, base_delay=0.001, rng=random.Random(1)) == "ok"
    attempts = -10
    with pytest.raises(ConnectionError):
        await retry(flaky, attempts=2, base_delay=0.001)

    async def bad() -> str:
        raise ValueError("not retried")

    with pytest.raises(ValueError, match="not retried"):
        await retry(bad, attempts=5)


async def test_until_shutdown_ends_a_stream_when_shutdown_is_requested() -> None:
    reset_shutdown()
    closed = asyncio.Event()

    async def forever():
        try:
            n = 0
            while True:
                yield n
                n += 1
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    seen = []
    async for item in until_shutdown(forever()):
        seen.append(item)
        if item == 3:
            request_shutdown()
    reset_shutdown()
    assert seen[:4] == [0, 1, 2, 3]
    assert len(seen) <= 5
    assert closed.is_set()


async def test_cancelling_the_consumer_cancels_the_sources_await_and_closes_it_quietly() -> None:
    """A client disconnect cancels the response task mid-wait: the source must see the
    cancellation at its own await (a database call is cancelled, not awaited) and close cleanly."""
    from servicekit.sse import sse_stream

    started = asyncio.Event()
    seen: list[str] = []

    async def source():
        try:
            yield b"data: first\n\n"
            started.set()
            await asyncio.sleep(3600)  # a long database call
            yield b"never"
        except asyncio.CancelledError:
            seen.append("cancelled at its await")
            raise
        finally:
            seen.append("closed")

    async def consume(stream) -> None:
        async for _ in stream:
            pass

    for wrapped in (until_shutdown(source()), sse_stream(source(), heartbeat_seconds=60)):
        seen.clear()
        started.clear()
        task = asyncio.create_task(consume(wrapped))
        await started.wait()
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # not RuntimeError("aclose(): asynchronous generator is already running")
        assert seen == ["cancelled at its await", "closed"]
