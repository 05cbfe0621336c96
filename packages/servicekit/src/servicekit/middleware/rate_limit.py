"""Per-client rate limits on the `limits` library (memory or Redis storage).

Every response carries `X-RateLimit-Limit/-Remaining/-Reset` for the tightest limit (and, if
enabled, the IETF `RateLimit`/`RateLimit-Policy` fields); refusals are 429 with `Retry-After`.
The policy on storage failure is fail-open: a Redis outage must not take the service down with it,
so the request passes and the error is counted (Warehouse's rate limiter makes the same choice).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import NamedTuple

from limits import RateLimitItem, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from servicekit.asgi import ASGIApp, Receive, Scope, Send, send_json, with_response_headers
from servicekit.clientip import TrustedProxies
from servicekit.logs import get_logger
from servicekit.metrics import ServiceMetrics
from servicekit.middleware.local_window import LocalSlidingWindow

__all__ = ["RateLimitMiddleware", "RateLimiter"]


class Verdict(NamedTuple):
    allowed: bool
    limit: RateLimitItem
    remaining: int
    reset_at: float


class RateLimiter:
    """Checks and counts one hit against every configured limit for a key.

    Memory storage takes an in-process fast path (`local`, synchronous, same sliding-window
    arithmetic as `limits`); shared storage (Redis) goes through the `limits` library.
    """

    def __init__(self, limits: Sequence[str], storage_url: str = "memory://", *, timeout: float = 0.25) -> None:
        self.items: list[RateLimitItem] = [item for spec in limits for item in parse_many(spec)]
        if not self.items:
            raise ValueError("no rate limits configured")
        self.local: LocalSlidingWindow | None = None
        if storage_url in ("memory://", "async+memory://"):
            self.local = LocalSlidingWindow(self.items)
            return
        options: dict[str, float | str | bool] = {}
        if storage_url.startswith("async+redis"):
            # redis-py, short timeouts (a dead Redis must cost milliseconds), errors as StorageError.
            options = {"implementation": "redispy", "wrap_exceptions": True,
                       "socket_timeout": timeout, "socket_connect_timeout": timeout}  # fmt: skip
        self.storage = storage_from_string(storage_url, **options)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)  # type: ignore[arg-type]

    def hit_local(self, key: str) -> Verdict:
        """The in-process verdict (memory storage only: `local` is set)."""
        assert self.local is not None
        allowed, position, remaining, reset_at = self.local.hit(key)
        return Verdict(allowed, self.items[position], remaining, reset_at)

    async def hit(self, key: str) -> Verdict:
        """Count one request for `key`; the verdict of the tightest (or the first exceeded) limit."""
        if self.local is not None:
            return self.hit_local(key)
        tightest: Verdict | None = None
        for item in self.items:
            allowed = await self.strategy.hit(item, key)
            stats = await self.strategy.get_window_stats(item, key)
            verdict = Verdict(allowed, item, max(0, stats.remaining), stats.reset_time)
            if not allowed:
                return verdict
            if tightest is None or verdict.remaining < tightest.remaining:
                tightest = verdict
        assert tightest is not None
        return tightest


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        proxies: TrustedProxies,
        metrics: ServiceMetrics | None = None,
        ietf_headers: bool = False,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.proxies = proxies
        self.metrics = metrics
        self.ietf_headers = ietf_headers
        self.log = get_logger("servicekit.ratelimit")
        self._limit_headers: dict[int, tuple[bytes, bytes]] = {}

    def _headers(self, verdict: Verdict, now: float) -> list[tuple[bytes, bytes]]:
        limit = self._limit_headers.get(id(verdict.limit))
        if limit is None:  # one per configured limit
            limit = self._limit_headers[id(verdict.limit)] = (b"x-ratelimit-limit", str(verdict.limit.amount).encode())
        headers = [
            limit,
            (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(verdict.reset_at)).encode()),
        ]
        if self.ietf_headers:
            reset_in = max(0, math.ceil(verdict.reset_at - now))
            window = verdict.limit.get_expiry()
            headers.append((b"ratelimit-policy", f'"default";q={verdict.limit.amount};w={window}'.encode()))
            headers.append((b"ratelimit", f'"default";r={verdict.remaining};t={reset_in}'.encode()))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        limiter = self.limiter
        try:
            client = self.proxies.client_ip(scope)
            verdict = limiter.hit_local(client) if limiter.local is not None else await limiter.hit(client)
        except (StorageError, ConnectionError, TimeoutError, OSError) as error:
            if self.metrics is not None:
                self.metrics.rate_limit_storage_errors_total.inc()
            self.log.warning("rate_limit_storage_error", error=type(error).__name__, policy="fail-open")
            await self.app(scope, receive, send)
            return
        now = time.time()
        headers = self._headers(verdict, now)
        if not verdict.allowed:
            if self.metrics is not None:
                self.metrics.rate_limited_total.inc()
            retry_after = max(1, math.ceil(verdict.reset_at - now))
            await send_json(
                send,
                429,
                {"error": "rate_limited", "detail": f"rate limit of {verdict.limit} exceeded; retry in {retry_after}s"},
                [*headers, (b"retry-after", str(retry_after).encode())],
            )
            return
        await self.app(scope, receive, with_response_headers(scope, send, headers))
