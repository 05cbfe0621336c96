"""The rate limiter counts the same on memory and on Redis storage."""

from __future__ import annotations

import pytest
from servicekit.middleware import RateLimiter


async def test_limit_enforced_per_key_with_stats(backend: str, request: pytest.FixtureRequest) -> None:
    url = "memory://"
    if backend == "redis":
        url = "async+" + request.getfixturevalue("redis_server").url
    limiter = RateLimiter(["3/minute", "10/hour"], url)
    verdicts = [await limiter.hit("198.51.100.1") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts[:3]] == [2, 1, 0]
    assert verdicts[3].limit.amount == 3
    other = await limiter.hit("198.51.100.2")
    assert other.allowed
    assert other.remaining == 2


def test_no_limits_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no rate limits"):
        RateLimiter([])
