from __future__ import annotations

import random

import pytest
from capstore.errors import InvalidVersion
from capstore.versioning import ZERO_VERSION, HybridClock, Version


def test_encoding_order_equals_tuple_order() -> None:
    rng = random.Random(7)
    versions = [
        Version(rng.randrange(0, 10**13), rng.randrange(0, 50), rng.choice(["g1", "g2", "a", "zz-9"]))
        for _ in range(500)
    ]
    by_tuple = sorted(versions)
    by_bytes = sorted(versions, key=lambda v: v.encode().encode())
    assert by_tuple == by_bytes
    assert all(v.encode() > ZERO_VERSION for v in versions)


def test_encode_decode_round_trip() -> None:
    version = Version(1_700_000_000_123, 42, "g1")
    assert version.encode() == "1700000000123.00000042.g1"
    assert Version.decode(version.encode()) == version
    assert Version.decode(version.encode().encode()) == version


@pytest.mark.parametrize("text", ["", "12.3.g1", "1700000000123.00000042.G1", "x" * 30, "1700000000123.00000042."])
def test_decode_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidVersion):
        Version.decode(text)


def test_node_id_validated() -> None:
    with pytest.raises(InvalidVersion, match="node id"):
        HybridClock("Bad Node")


def test_clock_is_monotonic_when_wall_clock_stalls_or_goes_back() -> None:
    walls = iter([1000, 1000, 999, 500, 1001, 1001])
    clock = HybridClock("g1", wall_ms=lambda: next(walls))
    got = [clock.now() for _ in range(6)]
    assert got == sorted(got)
    assert len(set(got)) == 6
    assert got[0] == Version(1000, 0, "g1")
    assert got[3] == Version(1000, 3, "g1")
    assert got[4] == Version(1001, 0, "g1")


def test_observe_moves_the_clock_past_a_remote_version() -> None:
    clock = HybridClock("g1", wall_ms=lambda: 1000)
    remote = Version(5000, 7, "g2")
    clock.observe(remote.encode())
    mine = clock.now()
    assert mine > remote
    assert mine == Version(5000, 8, "g1")
    clock.observe(ZERO_VERSION)  # never-written keys carry no information
    assert clock.now() > mine


def test_logical_overflow_borrows_next_millisecond() -> None:
    clock = HybridClock("g1", wall_ms=lambda: 1000)
    clock.observe(Version(1000, 10**8 - 1, "g2"))
    assert clock.now() == Version(1001, 0, "g1")


def test_now_encoded_is_the_encoding_of_the_next_version() -> None:
    ticks = iter([5_000, 5_000, 4_000, 6_000])
    clock = HybridClock("g1", wall_ms=lambda: next(ticks))
    fast = [clock.now_encoded(), clock.now_encoded(), clock.now_encoded(), clock.now_encoded()]
    assert fast == ["0000000005000.00000000.g1", "0000000005000.00000001.g1",
                    "0000000005000.00000002.g1", "0000000006000.00000000.g1"]  # fmt: skip
    assert [Version.decode(text).encode() for text in fast] == fast
