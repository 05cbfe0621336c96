"""Single-flight across worker processes and replicas that share a Redis tile cache.

Per process, servicekit's SingleFlight lets one caller per key through; that caller runs
`RedisFlight.run`. The first process to `SET lock NX PX` becomes the leader: it fetches, writes the
cache, then (one Lua call) releases its lock if it still owns it and PUBLISHes the outcome. Every other
process waits for that message on one pattern subscription per process; nobody polls. A leader that
dies stops renewing its lease, so a waiter wakes when the lease runs out and takes over; the total wait
is capped, after which the request ends with 504.

Redis trouble never blocks tiles: any Redis error makes the caller fetch on its own (counted).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError
from servicekit import get_logger

from mapmap.errors import MapMapError, UpstreamTimeout
from mapmap.flight_outcome import describe_error, rebuild_error

__all__ = ["RedisFlight"]

log = get_logger("mapmap.redis_flight")

T = TypeVar("T")

_ACQUIRE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -100 end
return redis.call('pttl', KEYS[1])
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_AND_ANNOUNCE = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
return redis.call('publish', KEYS[2], ARGV[2])
"""
_REDIS_ERRORS = (RedisError, OSError)
_ACQUIRED = -100  # PTTL itself answers -1 (no expiry) and -2 (gone)


class RedisFlight:
    def __init__(
        self,
        client: redis.Redis,
        subscriber: redis.Redis,
        *,
        prefix: str = "mapmap:flight",
        lease: float = 5.0,
        wait_timeout: float = 30.0,
        on_waiting: Callable[[str], None] | None = None,
        on_redis_error: Callable[[], None] | None = None,
    ) -> None:
        """`client` runs the lock scripts; `subscriber` (no socket timeout: it blocks on reads) listens."""
        self.client = client
        self.prefix = prefix
        self.lease_ms = max(100, int(lease * 1000))
        self.wait_timeout = wait_timeout
        self.on_waiting = on_waiting
        self.on_redis_error = on_redis_error
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE_AND_ANNOUNCE)
        self._listener = _Listener(subscriber, f"{prefix}:done:*".encode())

    async def start(self) -> None:
        """Subscribe now (at start-up), so the first herd does not wait for the subscription."""
        await self._listener.start()

    async def aclose(self) -> None:
        await self._listener.aclose()

    async def run(self, key: str, produce: Callable[[], Awaitable[T]], shared: Callable[[], Awaitable[T | None]]) -> T:
        """`produce` fetches and fills the shared cache; `shared` reads a fresh result from it (or None)."""
        lock, channel = f"{self.prefix}:lock:{key}", f"{self.prefix}:done:{key}".encode()
        token = secrets.token_hex(16)
        await self._listener.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        announced = self._listener.register(channel)  # before the lock attempt, so no announcement is missed
        counted = False
        try:
            while True:
                try:
                    remaining_lease = int(await self._acquire(keys=[lock], args=[token, self.lease_ms]))
                except _REDIS_ERRORS:
                    self._redis_failed()
                    return await produce()  # fail open: this process fetches on its own
                if remaining_lease == _ACQUIRED:
                    ready = await self._shared(shared)  # the previous leader may have finished just now
                    if ready is not None:
                        await self._finish(lock, channel, token, {"ok": True})
                        if not counted and self.on_waiting is not None:
                            self.on_waiting(key)
                        return ready
                    return await self._lead(lock, channel, token, produce)
                if not counted and self.on_waiting is not None:
                    self.on_waiting(key)
                counted = True
                left = deadline - loop.time()
                if left <= 0:
                    raise UpstreamTimeout(f"waited {self.wait_timeout:g}s for another worker to fetch this tile")
                # sleep until the announcement or the leader's lease ends, whichever is first
                wait = min(left, max(remaining_lease, 0) / 1000 + 0.05)
                try:
                    message = await asyncio.wait_for(asyncio.shield(announced), wait)
                except TimeoutError:
                    continue  # the lease ran out (or was renewed): take over or wait again
                outcome = json.loads(message)
                if "error" in outcome:
                    raise rebuild_error(outcome)
                if outcome.get("ok"):
                    ready = await self._shared(shared)
                    if ready is not None:
                        return ready
                # the leader gave up, or its result is not in the cache (evicted, not cacheable): lead ourselves
                self._listener.unregister(channel, announced)
                announced = self._listener.register(channel)
        finally:
            self._listener.unregister(channel, announced)

    async def _shared(self, shared: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            return await shared()
        except _REDIS_ERRORS:
            self._redis_failed()
            return None

    async def _lead(self, lock: str, channel: bytes, token: str, produce: Callable[[], Awaitable[T]]) -> T:
        keeper = asyncio.create_task(self._keep_lease(lock, token))
        outcome: dict[str, object] = {"retry": True}  # cancelled or crashed: waiters race for the lock at once
        try:
            result = await produce()
            outcome = {"ok": True}
            return result
        except MapMapError as error:
            outcome = describe_error(error)
            raise
        finally:
            keeper.cancel()
            with suppress(asyncio.CancelledError):
                await keeper
            await self._finish(lock, channel, token, outcome)

    async def _finish(self, lock: str, channel: bytes, token: str, outcome: dict[str, object]) -> None:
        try:
            await self._release(keys=[lock, channel], args=[token, json.dumps(outcome)])
        except _REDIS_ERRORS:
            self._redis_failed()  # waiters still wake when the lease runs out

    async def _keep_lease(self, lock: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await self._renew(keys=[lock], args=[token, self.lease_ms]):
                    return  # lost it (expired and taken over): the new leader announces too
            except _REDIS_ERRORS:
                self._redis_failed()

    def _redis_failed(self) -> None:
        if self.on_redis_error is not None:
            self.on_redis_error()


class _Listener:
    """One pattern subscription per process; futures per channel, resolved by announcements."""

    def __init__(self, client: redis.Redis, pattern: bytes) -> None:
        self.client = client
        self.pattern = pattern
        self._waiters: dict[bytes, set[asyncio.Future[bytes]]] = {}
        self._subscribed = asyncio.Event()
        self._tried = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
        if not self._tried.is_set():
            # the first subscription attempt only; if Redis is down, waiters still wake when leases run out
            with suppress(TimeoutError):
                await asyncio.wait_for(self._tried.wait(), 1.0)

    def register(self, channel: bytes) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, set()).add(future)
        return future

    def unregister(self, channel: bytes, future: asyncio.Future[bytes]) -> None:
        waiters = self._waiters.get(channel)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                del self._waiters[channel]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.psubscribe(self.pattern)
                async for message in pubsub.listen():
                    if message["type"] == "psubscribe":
                        self._subscribed.set()
                        self._tried.set()
                        backoff = 0.1
                    elif message["type"] == "pmessage":
                        for future in self._waiters.get(message["channel"], ()):
                            if not future.done():
                                future.set_result(message["data"])
            except _REDIS_ERRORS as error:
                self._subscribed.clear()
                self._tried.set()
                log.warning("flight_subscription_lost", error=type(error).__name__, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with suppress(*_REDIS_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
