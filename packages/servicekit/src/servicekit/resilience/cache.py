"""A TTL + LRU byte cache with one interface over process memory and Redis.

Entries outlive their TTL by `stale_ttl` seconds so callers can serve stale while revalidating or
when the origin fails; `CacheEntry.fresh`/`age` tell them which case they are in.
"""

from __future__ import annotations

import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis

__all__ = ["Cache", "CacheEntry", "MemoryCache", "RedisCache"]


@dataclass(frozen=True)
class CacheEntry:
    value: bytes
    stored_at: float
    ttl: float
    stale_ttl: float = 0.0

    def fresh(self, now: float) -> bool:
        return now - self.stored_at < self.ttl

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    @property
    def expires_at(self) -> float:
        return self.stored_at + self.ttl + self.stale_ttl


class Cache(Protocol):
    async def get(self, key: str) -> CacheEntry | None: ...
    async def set(self, key: str, value: bytes, ttl: float, stale_ttl: float = 0.0) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def clear(self) -> None: ...
    async def size(self) -> int: ...


class MemoryCache:
    """At most `max_entries` entries (and `max_bytes` of values, if given); least recently used go first."""

    def __init__(
        self, max_entries: int, *, max_bytes: int | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1 (CACHE_SIZE)")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.clock = clock
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.clock() >= entry.expires_at:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, value: bytes, ttl: float, stale_ttl: float = 0.0) -> None:
        if key in self._entries:
            self._remove(key)
        self._entries[key] = CacheEntry(value, self.clock(), ttl, stale_ttl)
        self._bytes += len(value)
        while len(self._entries) > self.max_entries or (self.max_bytes is not None and self._bytes > self.max_bytes):
            self._remove(next(iter(self._entries)))

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.value)

    async def delete(self, key: str) -> None:
        if key in self._entries:
            self._remove(key)

    async def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    async def size(self) -> int:
        return len(self._entries)


_HEADER = struct.Struct("!ddd")  # stored_at, ttl, stale_ttl


class RedisCache:
    """Entries under `prefix` in Redis, expiring on their own (PX = ttl + stale_ttl); shared by replicas.

    Eviction beyond memory is Redis's job (`maxmemory-policy allkeys-lru` on a cache instance).
    """

    def __init__(self, client: redis.Redis, *, prefix: str, clock: Callable[[], float] = time.time) -> None:
        if not prefix:
            raise ValueError("a RedisCache needs a non-empty key prefix so clear() cannot touch other data")
        self.client = client
        self.prefix = prefix
        self.clock = clock

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def get(self, key: str) -> CacheEntry | None:
        raw = await self.client.get(self._key(key))
        if not isinstance(raw, bytes) or len(raw) < _HEADER.size:
            return None
        stored_at, ttl, stale_ttl = _HEADER.unpack_from(raw)
        return CacheEntry(bytes(raw[_HEADER.size :]), stored_at, ttl, stale_ttl)

    async def set(self, key: str, value: bytes, ttl: float, stale_ttl: float = 0.0) -> None:
        payload = _HEADER.pack(self.clock(), ttl, stale_ttl) + value
        await self.client.set(self._key(key), payload, px=max(1, int((ttl + stale_ttl) * 1000)))

    async def delete(self, key: str) -> None:
        await self.client.unlink(self._key(key))

    async def _keys(self) -> list[bytes]:
        return [key async for key in self.client.scan_iter(match=f"{self.prefix}:*", count=1000)]

    async def clear(self) -> None:
        keys = await self._keys()
        for start in range(0, len(keys), 500):
            await self.client.unlink(*keys[start : start + 500])

    async def size(self) -> int:
        """Counts by SCAN: O(keys); meant for health pages and tests, not hot paths."""
        return len(await self._keys())
