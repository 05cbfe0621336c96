"""Resilience primitives: circuit breaker, retries with jitter, single-flight, TTL+LRU cache."""

from servicekit.resilience.breaker import BreakerListener, BreakerOpenError, CircuitBreaker
from servicekit.resilience.breaker_metrics import BreakerMetrics
from servicekit.resilience.breaker_storage import (
    BreakerState,
    BreakerStorage,
    MemoryBreakerStorage,
    RedisBreakerStorage,
)
from servicekit.resilience.cache import Cache, CacheEntry, MemoryCache, RedisCache
from servicekit.resilience.retry import retry
from servicekit.resilience.singleflight import SingleFlight

__all__ = [
    "BreakerListener",
    "BreakerMetrics",
    "BreakerOpenError",
    "BreakerState",
    "BreakerStorage",
    "Cache",
    "CacheEntry",
    "CircuitBreaker",
    "MemoryBreakerStorage",
    "MemoryCache",
    "RedisBreakerStorage",
    "RedisCache",
    "SingleFlight",
    "retry",
]
