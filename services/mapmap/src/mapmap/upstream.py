"""The HTTP client of one upstream: keep-alive pool, per-phase timeouts, one jittered retry on connect
errors, a concurrency cap, redirects off, size cap, image checks and a circuit breaker.

Every httpx error is translated here into MapMap's typed errors. Messages name the upstream but never
the URL, since the URL may carry the upstream's token.
"""

from __future__ import annotations

import asyncio
import io
import time
import warnings
from dataclasses import dataclass
from typing import Literal

import httpx
from PIL import Image
from pydantic import SecretStr
from servicekit.resilience import BreakerOpenError, CircuitBreaker, retry

from mapmap.errors import BadUpstreamResponse, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from mapmap.http11 import PooledHTTP11Transport
from mapmap.ssrf import check_url_allowed

__all__ = ["IMAGE_TYPES", "UpstreamClient", "UpstreamMetrics", "UpstreamResponse", "image_type"]

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def image_type(body: bytes) -> str | None:
    """'png', 'jpeg' or 'webp' from the magic bytes, or None."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(body) >= 12 and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class UpstreamResponse:
    kind: Literal["tile", "missing", "empty"]
    body: bytes = b""
    image: str | None = None
    etag: str | None = None
    last_modified: str | None = None


class UpstreamMetrics:
    """Latency histogram and error counter, labelled by upstream name (never by URL)."""

    def __init__(self, latency: object, errors: object) -> None:
        self.latency = latency
        self.errors = errors

    def observe(self, upstream: str, seconds: float) -> None:
        self.latency.labels(upstream).observe(seconds)  # type: ignore[attr-defined]

    def error(self, upstream: str, kind: str) -> None:
        self.errors.labels(upstream, kind).inc()  # type: ignore[attr-defined]


class UpstreamClient:
    def __init__(
        self,
        name: str,
        *,
        allowed_hosts: tuple[str, ...],
        breaker: CircuitBreaker,
        token: SecretStr | None = None,
        token_param: str = "token",  # noqa: S107 - a parameter name, not a secret
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        pool_timeout: float = 5.0,
        max_concurrency: int = 16,
        max_bytes: int = 8 * 1024 * 1024,
        max_pixels: int = 4096 * 4096,
        metrics: UpstreamMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        pooled_transport: bool = True,
    ) -> None:
        self.name = name
        self.allowed_hosts = allowed_hosts
        self.breaker = breaker
        self._token = token
        self._token_param = token_param
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.metrics = metrics
        self._semaphore = asyncio.Semaphore(max_concurrency)
        if transport is None and pooled_transport:
            # httpx's own transport costs ~4x the CPU per fetch (see mapmap.http11); it stays selectable
            transport = PooledHTTP11Transport(max_connections=max_concurrency)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=pool_timeout),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            follow_redirects=False,
            transport=transport,
            # identity: compressed tiles gain nothing, and it keeps decompression bombs out of the pool
            headers={"User-Agent": "MapMap/0.1 (+flotilla)", "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _params(self) -> dict[str, str]:
        if self._token is None:
            return {}
        return {self._token_param: self._token.get_secret_value()}

    async def fetch_tile(self, url: str) -> UpstreamResponse:
        """GET one tile. 200 → checked image; 404 → 'missing'; 204 → 'empty'; anything else raises."""
        return await self._guarded(url, expect_image=True)

    async def fetch_document(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> UpstreamResponse:
        """GET a document (capabilities); `etag`/`last_modified` make it conditional ('empty' means 304)."""
        return await self._guarded(url, expect_image=False, etag=etag, last_modified=last_modified)

    async def _guarded(
        self, url: str, *, expect_image: bool, etag: str | None = None, last_modified: str | None = None
    ) -> UpstreamResponse:
        check_url_allowed(url, self.allowed_hosts)
        try:
            await self.breaker.before_call()
        except BreakerOpenError as error:
            raise UpstreamUnavailable(
                f"upstream {self.name!r} is failing; its circuit breaker is open", error.retry_after
            ) from None
        try:
            async with self._semaphore:
                result = await self._fetch(url, expect_image=expect_image, etag=etag, last_modified=last_modified)
        except BaseException:
            # 5xx, timeouts, refused connections and garbage all count against the upstream
            await self.breaker.record_failure()
            raise
        await self.breaker.record_success()
        return result

    async def _fetch(
        self, url: str, *, expect_image: bool, etag: str | None, last_modified: str | None = None
    ) -> UpstreamResponse:
        headers = {"If-None-Match": etag} if etag else {}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.perf_counter()

        async def attempt() -> tuple[int, bytes, httpx.Headers]:
            try:
                target = httpx.URL(url)
                if self._token is not None:
                    target = target.copy_merge_params(self._params())
                async with self._client.stream("GET", target, headers=headers) as response:
                    declared = response.headers.get("content-length")
                    if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                        raise BadUpstreamResponse(f"upstream {self.name!r} sent more than {self.max_bytes} bytes")
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise BadUpstreamResponse(f"upstream {self.name!r} sent more than {self.max_bytes} bytes")
                        chunks.append(chunk)
                    return response.status_code, b"".join(chunks), response.headers
            except httpx.ConnectError as error:
                # retried once below; the message must not carry the URL
                raise ConnectionError(f"cannot connect to upstream {self.name!r}") from error

        try:
            status, body, response_headers = await retry(
                attempt, attempts=2, base_delay=0.05, max_delay=0.2, retry_on=(ConnectionError,)
            )
        except ConnectionError:
            self._error("connect")
            raise UpstreamError(f"cannot connect to upstream {self.name!r}") from None
        except httpx.TimeoutException as error:
            self._error("timeout")
            phase = type(error).__name__.replace("Timeout", "").lower() or "request"
            raise UpstreamTimeout(f"upstream {self.name!r} timed out ({phase})") from None
        except BadUpstreamResponse:
            self._error("too_large")
            raise
        except httpx.HTTPError as error:
            self._error("transport")
            raise UpstreamError(f"upstream {self.name!r} failed: {type(error).__name__}") from None
        finally:
            if self.metrics is not None:
                self.metrics.observe(self.name, time.perf_counter() - started)
        if status == 304 and not expect_image:
            return UpstreamResponse("empty", etag=etag, last_modified=last_modified)
        if status == 404:
            return UpstreamResponse("missing")
        if status == 204:
            return UpstreamResponse("empty")
        if status != 200:
            self._error(str(status))
            if 300 <= status < 400:
                raise BadUpstreamResponse(f"upstream {self.name!r} redirected ({status}); redirects are not followed")
            raise UpstreamError(f"upstream {self.name!r} answered HTTP {status}")
        if not expect_image:
            return UpstreamResponse(
                "tile", body, etag=response_headers.get("etag"), last_modified=response_headers.get("last-modified")
            )
        kind = self._check_image(body)
        return UpstreamResponse("tile", body, image=kind)

    def _check_image(self, body: bytes) -> str:
        kind = image_type(body)
        if kind is None:
            self._error("not_image")
            raise BadUpstreamResponse(f"upstream {self.name!r} sent a body that is not a PNG, JPEG or WebP image")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(body)) as image:
                    width, height = image.size  # header only: nothing is decoded here
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
            self._error("bad_image")
            raise BadUpstreamResponse(f"upstream {self.name!r} sent an unreadable {kind} image") from None
        if width * height > self.max_pixels:
            self._error("bomb")
            raise BadUpstreamResponse(
                f"upstream {self.name!r} sent a {width}x{height} image (more than {self.max_pixels} pixels)"
            )
        return kind

    def _error(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.error(self.name, kind)
