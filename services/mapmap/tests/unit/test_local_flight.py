"""LocalFlight: two instances on one directory stand for two worker processes (flock locks belong to
open file descriptions, so they exclude each other within one process just as across processes)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from mapmap.errors import BadUpstreamResponse, UpstreamTimeout
from mapmap.local_flight import LocalFlight


class Upstream:
    def __init__(self, delay: float = 0.2) -> None:
        self.fetches = 0
        self.delay = delay
        self.fail: Exception | None = None

    async def produce(self) -> tuple[str, bytes]:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return "leader", b"tile-bytes"


async def adopt(value: bytes) -> str:
    return "adopted:" + value.decode()


@pytest.fixture
def flights(tmp_path: Path) -> list[LocalFlight]:
    return [LocalFlight(tmp_path / "flight", wait_timeout=5) for _ in range(2)]


async def test_a_herd_across_processes_makes_one_fetch_and_the_others_adopt_it(flights: list[LocalFlight]) -> None:
    upstream = Upstream()
    waiting: list[str] = []
    for flight in flights:
        flight.on_waiting = waiting.append
    results = await asyncio.gather(*(flights[i % 2].run("t:a:1", upstream.produce, adopt) for i in range(40)))
    assert upstream.fetches == 1
    assert results.count("leader") == 1
    assert results.count("adopted:tile-bytes") == 39
    assert len(waiting) == 39
    directory = flights[0].directory
    assert not list(directory.glob("*.lock"))  # the leader removes its lock file


async def test_the_leaders_error_reaches_the_waiters_without_a_second_fetch(flights: list[LocalFlight]) -> None:
    upstream = Upstream()
    upstream.fail = BadUpstreamResponse("upstream answered text/html instead of an image")
    results = await asyncio.gather(
        *(flights[i % 2].run("t:a:2", upstream.produce, adopt) for i in range(10)), return_exceptions=True
    )
    assert upstream.fetches == 1
    assert all(isinstance(result, BadUpstreamResponse) for result in results)
    assert all("text/html" in str(result) for result in results)


async def test_a_cancelled_leader_hands_over_to_a_waiter(flights: list[LocalFlight]) -> None:
    upstream = Upstream(delay=0.3)
    leader = asyncio.create_task(flights[0].run("t:a:3", upstream.produce, adopt))
    await asyncio.sleep(0.05)
    waiter = asyncio.create_task(flights[1].run("t:a:3", upstream.produce, adopt))
    await asyncio.sleep(0.05)
    leader.cancel()
    assert await waiter == "leader"  # it found no outcome and fetched itself
    assert upstream.fetches == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_a_waiter_gives_up_after_its_wait_and_leaves_the_lock_usable(tmp_path: Path) -> None:
    patient, impatient = LocalFlight(tmp_path / "f", wait_timeout=5), LocalFlight(tmp_path / "f", wait_timeout=0.1)
    upstream = Upstream(delay=0.4)
    leader = asyncio.create_task(patient.run("t:a:4", upstream.produce, adopt))
    await asyncio.sleep(0.05)
    with pytest.raises(UpstreamTimeout, match=r"waited 0\.1s"):
        await impatient.run("t:a:4", upstream.produce, adopt)
    assert await leader == "leader"
    await asyncio.sleep(0.05)  # the abandoned wait's thread gets the lock, then lets it go
    fresh = Upstream(delay=0)
    assert await impatient.run("t:a:5", fresh.produce, adopt) == "leader"
    assert fresh.fetches == 1


async def test_a_miss_nobody_waited_for_writes_no_outcome(flights: list[LocalFlight]) -> None:
    upstream = Upstream(delay=0)
    assert await flights[0].run("t:a:6", upstream.produce, adopt) == "leader"
    assert not list(flights[0].directory.iterdir())  # no lock file left, no tile written
    # a later miss elsewhere is not concurrent: it fetches (its worker's cache is its own)
    assert await flights[1].run("t:a:6", upstream.produce, adopt) == "leader"
    assert upstream.fetches == 2


def test_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the hostile set-up under test
    with pytest.raises(PermissionError, match="mode 700"):
        LocalFlight(shared)
    (tmp_path / "target").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(PermissionError, match="not a link"):
        LocalFlight(tmp_path / "link")


def test_an_unsafe_lock_directory_turns_the_flight_off_not_the_service(tmp_path: Path) -> None:
    from mapmap.app import build_service
    from mapmap.config import Settings

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the hostile set-up under test
    settings = Settings(CACHE_LOCAL_FLIGHT="on", CACHE_LOCK_DIR=shared, ENABLE_REQUEST_LOGGING=False)
    service, _ = build_service(settings)
    assert service.local_flight is None  # refused: each worker still coalesces its own requests
    private = Settings(CACHE_LOCAL_FLIGHT="on", CACHE_LOCK_DIR=tmp_path / "private", ENABLE_REQUEST_LOGGING=False)
    service, _ = build_service(private)
    assert service.local_flight is not None
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o700
