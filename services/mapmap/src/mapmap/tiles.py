"""The tile service: endpoints (an upstream + layer + grid) behind one cache with single-flight,
stale-while-revalidate, serve-stale-on-error and brief negative caching.

Cache keys are built only from validated values (endpoint, size, z/x/y, format), so request noise
such as unknown query parameters can never split or poison the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from servicekit import get_logger
from servicekit.resilience import Cache, CacheEntry, SingleFlight

from mapmap.capabilities import Capabilities, Layer, parse_capabilities
from mapmap.config import EndpointConfig
from mapmap.errors import (
    CapabilitiesError,
    InvalidTileRequest,
    MapMapError,
    NotFoundError,
    TileOutOfRange,
    UpstreamError,
)
from mapmap.local_flight import LocalFlight
from mapmap.redis_flight import RedisFlight
from mapmap.reproject import decode_rgba, encode_image, matching_matrix, mosaic, plan_sources, warp_tile
from mapmap.tms import TileIndex, TileMatrixSet, web_mercator_quad
from mapmap.upstream import IMAGE_TYPES, UpstreamClient, image_type

__all__ = ["Endpoint", "Source", "Tile", "TileMetrics", "TileService", "image_kind_for"]

log = get_logger("mapmap.tiles")

_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
_MIME_KINDS = {mime: kind for kind, mime in IMAGE_TYPES.items()}
_TILE, _MISSING, _EMPTY = b"T", b"N", b"E"
_STATUS = {_TILE: 200, _MISSING: 404, _EMPTY: 204}
_CACHE_ERRORS = (redis.exceptions.RedisError, sqlite3.Error, OSError, asyncio.TimeoutError)


def image_kind_for(extension: str | None, default: str) -> str:
    if extension is None:
        return default
    kind = _EXTENSIONS.get(extension.lower())
    if kind is None:
        raise InvalidTileRequest(f"unsupported tile format {extension[:10]!r} (use png, jpg or webp)")
    return kind


@dataclass(frozen=True)
class Tile:
    status: int
    body: bytes
    content_type: str
    etag: str
    stored_at: float
    age: int = 0
    stale: bool = False


class TileMetrics:
    def __init__(self, *, hits: Any, misses: Any, coalesced: Any, stale: Any, cache_errors: Any) -> None:
        self.hits, self.misses, self.coalesced, self.stale, self.cache_errors = (
            hits, misses, coalesced, stale, cache_errors,
        )  # fmt: skip


@dataclass(frozen=True)
class Source:
    """What an endpoint reads: a tile matrix set and how to address one of its tiles."""

    tms: TileMatrixSet
    kind: str
    url: Callable[[str, int, int], str]
    """(matrix identifier, row, col) → URL."""


@dataclass(frozen=True)
class _Loaded:
    """One consistent snapshot of an upstream's capabilities; replaced whole, never edited."""

    source: Source
    capabilities: Capabilities | None
    etag: str | None
    last_modified: str | None


class Endpoint:
    """One configured endpoint. Loads its upstream's capabilities on first use; once they are older than
    `capabilities_ttl`, requests keep using them while one background refresh asks the upstream again
    with If-None-Match / If-Modified-Since: 304 keeps the parsed model, 200 swaps in a new one, and a
    failure keeps the old one (logged and counted via `on_refresh(endpoint, result)`)."""

    def __init__(
        self,
        config: EndpointConfig,
        client: UpstreamClient,
        *,
        capabilities_ttl: float = 3600,
        on_refresh: Callable[[str, str], None] | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.capabilities_ttl = capabilities_ttl
        self.on_refresh = on_refresh
        self._loaded: _Loaded | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[str] | None = None
        self.default_kind = _MIME_KINDS.get(config.format, "png")

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def capabilities(self) -> Capabilities | None:
        return self._loaded.capabilities if self._loaded is not None else None

    async def source(self) -> Source:
        loaded = self._loaded
        if loaded is not None:
            if time.monotonic() - self._loaded_at >= self.capabilities_ttl and self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self.refresh())
                self._refreshing.add_done_callback(self._refreshed)
            return loaded.source
        async with self._lock:
            if self._loaded is None:
                self._loaded = await self._load(None)
                self._loaded_at = time.monotonic()
            return self._loaded.source

    async def refresh(self) -> str:
        """Ask the upstream again now: 'updated', 'not_modified' or 'failed' (the old model stays)."""
        async with self._lock:
            previous = self._loaded
            try:
                loaded = await self._load(previous)
            except MapMapError as error:
                if previous is None:
                    raise
                log.warning("capabilities_refresh_failed", endpoint=self.name, error=error.code)
                result = "failed"
            else:
                result = "not_modified" if loaded is previous else "updated"
                self._loaded = loaded  # one assignment: readers see the old snapshot or the new, never a mix
            self._loaded_at = time.monotonic()  # a failure waits a full TTL too: no hammering a broken upstream
        if self.on_refresh is not None:
            self.on_refresh(self.name, result)
        return result

    async def aclose(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        await self.client.aclose()

    def _refreshed(self, task: asyncio.Task[str]) -> None:
        self._refreshing = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("capabilities_refresh_crashed", endpoint=self.name, error=type(task.exception()).__name__)

    async def _load(self, previous: _Loaded | None) -> _Loaded:
        config = self.config
        if config.xyz_template is not None:
            if previous is not None:
                return previous  # nothing to refresh: the template is configuration
            template = config.xyz_template
            tms = web_mercator_quad(256, max_zoom=config.max_zoom)

            def xyz_url(matrix: str, row: int, col: int) -> str:
                return template.replace("{z}", matrix).replace("{x}", str(col)).replace("{y}", str(row))

            return _Loaded(Source(tms, self.default_kind, xyz_url), None, None, None)
        assert config.capabilities_url is not None
        response = await self.client.fetch_document(
            config.capabilities_url,
            etag=previous.etag if previous else None,
            last_modified=previous.last_modified if previous else None,
        )
        if response.kind == "empty" and previous is not None:
            return previous  # 304 Not Modified: keep the parsed model as it is
        if response.kind != "tile":
            raise CapabilitiesError(f"upstream {self.name!r} has no capabilities document (HTTP 404/204)")
        caps = await asyncio.to_thread(parse_capabilities, response.body, axis_overrides=config.axis_overrides)
        caps.check_urls(config.hosts)
        layer = caps.layer(config.layer or "")
        tms_id = config.tile_matrix_set or next(iter(layer.tile_matrix_sets), None)
        if tms_id is None:
            raise CapabilitiesError(f"layer {layer.identifier!r} links no tile matrix set")
        tms = caps.tile_matrix_set(layer, tms_id)
        style = config.style or layer.default_style
        if config.format not in layer.formats:
            raise CapabilitiesError(f"layer {layer.identifier!r} does not offer {config.format!r}")

        def wmts_url(matrix: str, row: int, col: int, caps: Capabilities = caps, layer: Layer = layer) -> str:
            return caps.tile_url(
                layer, style=style, fmt=config.format, tile_matrix_set=tms_id, tile_matrix=matrix, row=row, col=col
            )

        return _Loaded(Source(tms, self.default_kind, wmts_url), caps, response.etag, response.last_modified)


class TileService:
    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        cache: Cache,
        *,
        ttl: float,
        stale_ttl: float,
        swr: float,
        negative_ttl: float,
        metrics: TileMetrics | None = None,
        clock: Callable[[], float] = time.time,
        track_size: bool = True,
    ) -> None:
        self.endpoints = dict(endpoints)
        self.cache = cache
        self.ttl, self.stale_ttl, self.swr, self.negative_ttl = ttl, stale_ttl, swr, negative_ttl
        self.metrics = metrics
        self.clock = clock
        self.grids = {256: web_mercator_quad(256), 512: web_mercator_quad(512)}
        self.flight: SingleFlight[str, Tile] = SingleFlight(on_coalesced=self._on_coalesced)
        self.source_flight: SingleFlight[str, bytes | None] = SingleFlight()
        self.shared_flight: RedisFlight | None = None
        """Set when the cache is shared (Redis): coalesces misses across worker processes too."""
        self.local_flight: LocalFlight | None = None
        """Set for a host-local cache with several workers: coalesces misses across them."""
        self.keep_adopted = True
        """Whether a tile another worker fetched goes into this process's cache (not when it is shared)."""
        self.cache_size = 0
        self.track_size = track_size
        self._background: set[asyncio.Task[Any]] = set()

    # -- public API -------------------------------------------------------------------------------

    def endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise NotFoundError(f"unknown endpoint {name[:64]!r}")
        return endpoint

    async def get(
        self, name: str, z: str | int, x: str | int, y: str | int, *, extension: str | None = None, tile_size: int = 256
    ) -> Tile:
        endpoint = self.endpoint(name)
        grid = self.grids.get(tile_size)
        if grid is None:
            raise InvalidTileRequest("tile size must be 256 or 512")
        index = grid.parse(z, x, y)
        if index.z > endpoint.config.max_zoom:
            raise TileOutOfRange(f"zoom {index.z} is above endpoint {name!r}'s maximum {endpoint.config.max_zoom}")
        kind = image_kind_for(extension, endpoint.default_kind)
        key = f"t:{name}:{tile_size}:{index.z}:{index.x}:{index.y}:{kind}"
        entry = await self._cache_get(key)
        now = self.clock()
        if entry is not None:
            if entry.fresh(now):
                self._count("hits", name)
                return _decode(entry, now, stale=False)
            past_ttl = now - entry.stored_at - entry.ttl
            if past_ttl < self.swr:
                # stale-while-revalidate: answer now, refresh once in the background
                self._count_stale(name, "revalidate")
                self._spawn(self._load(endpoint, grid, index, kind, key))
                return _decode(entry, now, stale=True)
            try:
                return await self._load(endpoint, grid, index, kind, key)
            except UpstreamError:
                self._count_stale(name, "error")
                return _decode(entry, now, stale=True)
        self._count("misses", name)
        return await self._load(endpoint, grid, index, kind, key)

    async def purge(self) -> int:
        size = await self.cache.size()
        await self.cache.clear()
        self.cache_size = 0
        return size

    async def refresh_size(self) -> int:
        try:
            self.cache_size = await self.cache.size()
        except _CACHE_ERRORS:
            self._count("cache_errors", "size")
        return self.cache_size

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        for endpoint in self.endpoints.values():
            await endpoint.aclose()
        if self.shared_flight is not None:
            await self.shared_flight.aclose()
        if self.local_flight is not None:
            await self.local_flight.aclose()
        close_cache = getattr(self.cache, "aclose", None)  # disk caches own threads and files
        if close_cache is not None:
            await close_cache()

    # -- internals ---------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        async def quiet() -> None:
            try:
                await coroutine
            except Exception as error:  # a failed background refresh leaves the stale entry in place
                log.warning("revalidate_failed", error=type(error).__name__)

        task = asyncio.ensure_future(quiet())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_coalesced(self, key: str) -> None:
        self._count("coalesced", key.split(":", 2)[1])

    def count_coalesced(self, key: str) -> None:
        """A caller that waited on another process's fetch of `key` (cross-worker single-flight)."""
        self._on_coalesced(key)

    def count_cache_error(self, op: str) -> None:
        self._count("cache_errors", op)

    def _count(self, metric: str, name: str) -> None:
        if self.metrics is not None:
            getattr(self.metrics, metric).labels(name).inc()

    def _count_stale(self, name: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.stale.labels(name, reason).inc()

    async def _cache_get(self, key: str) -> CacheEntry | None:
        try:
            return await self.cache.get(key)
        except _CACHE_ERRORS:
            self._count("cache_errors", "get")  # fail open: a broken cache must not break tiles
            return None

    async def _cache_set(self, key: str, value: bytes, ttl: float, stale_ttl: float) -> None:
        try:
            await self.cache.set(key, value, ttl, stale_ttl)
        except _CACHE_ERRORS:
            self._count("cache_errors", "set")
            return
        if self.track_size:
            await self.refresh_size()

    async def _load(self, endpoint: Endpoint, grid: TileMatrixSet, index: TileIndex, kind: str, key: str) -> Tile:
        async def fetch_value() -> tuple[Tile, bytes]:
            status, body = await self._produce(endpoint, grid, index, kind)
            marker = _TILE if status == 200 else (_MISSING if status == 404 else _EMPTY)
            value = marker + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + body
            await self._store(key, value)
            return _from_value(value, self.clock(), kind), value

        async def fetch() -> Tile:
            return (await fetch_value())[0]

        local_flight = self.local_flight
        if local_flight is not None:

            async def adopt(value: bytes) -> Tile:  # what another worker of this instance just fetched
                if self.keep_adopted:
                    await self._store(key, value)
                return _from_value(value, self.clock(), kind)

            return await self.flight.do(key, lambda: local_flight.run(key, fetch_value, adopt))
        shared_flight = self.shared_flight
        if shared_flight is None:
            return await self.flight.do(key, fetch)
        # one caller per process reaches Redis; Redis lets one process through
        return await self.flight.do(key, lambda: shared_flight.run(key, fetch, lambda: self._fresh_tile(key)))

    async def _store(self, key: str, value: bytes) -> None:
        if value[:1] == _TILE:
            await self._cache_set(key, value, self.ttl, self.stale_ttl)
        elif self.negative_ttl > 0:
            await self._cache_set(key, value, self.negative_ttl, 0)

    async def _fresh_tile(self, key: str) -> Tile | None:
        """A fresh tile another worker just stored under `key`, or None."""
        entry = await self.cache.get(key)
        now = self.clock()
        return _decode(entry, now, stale=False) if entry is not None and entry.fresh(now) else None

    async def _produce(self, endpoint: Endpoint, grid: TileMatrixSet, index: TileIndex, kind: str) -> tuple[int, bytes]:
        source = await endpoint.source()
        matrix_id = matching_matrix(source.tms, grid, index.z)
        if matrix_id is not None:
            try:
                source_z, _ = source.tms.matrix_by_id(matrix_id)
                source.tms.validate(source_z, index.x, index.y)
            except (TileOutOfRange, NotFoundError):
                return 404, b""
            response = await endpoint.client.fetch_tile(source.url(matrix_id, index.y, index.x))
            if response.kind == "missing":
                return 404, b""
            if response.kind == "empty":
                return 204, b""
            if response.image == kind:
                return 200, response.body  # same grid, same format: the upstream's bytes, untouched
            rgba = await asyncio.to_thread(decode_rgba, response.body)
            return 200, await asyncio.to_thread(encode_image, rgba, kind)
        return 200, await self._reproject(endpoint, source, grid, index, kind)

    async def _reproject(
        self, endpoint: Endpoint, source: Source, grid: TileMatrixSet, index: TileIndex, kind: str
    ) -> bytes:
        plan = plan_sources(source.tms, grid, index.z, index.x, index.y, max_zoom=endpoint.config.max_zoom)
        size = grid.matrix(index.z).tile_width
        if plan is None:
            return _blank(size, kind)
        matrix_id = source.tms.matrix(plan.z).identifier
        cells = [(col, row) for row in plan.rows for col in plan.cols]
        bodies = await asyncio.gather(
            *(self._source_tile(endpoint, source, plan.z, matrix_id, col, row) for col, row in cells)
        )
        if all(body is None for body in bodies):
            return _blank(size, kind)

        def render() -> bytes:
            tiles = {
                cell: (decode_rgba(body) if body is not None else None)
                for cell, body in zip(cells, bodies, strict=True)
            }
            canvas = mosaic(plan, tiles)
            rgba = warp_tile(
                canvas, plan, src_crs=source.tms.crs, dst_crs=grid.crs,
                dst_bounds=grid.tile_bounds(index.z, index.x, index.y), size=(size, size),
                method=endpoint.config.resampling,
            )  # fmt: skip
            return encode_image(rgba, kind)

        return await asyncio.to_thread(render)

    async def _source_tile(
        self, endpoint: Endpoint, source: Source, z: int, matrix_id: str, col: int, row: int
    ) -> bytes | None:
        key = f"s:{endpoint.name}:{source.tms.identifier}:{z}:{col}:{row}"
        entry = await self._cache_get(key)
        if entry is not None and entry.fresh(self.clock()):
            return entry.value[1:] if entry.value[:1] == _TILE else None

        async def fetch() -> bytes | None:
            response = await endpoint.client.fetch_tile(source.url(matrix_id, row, col))
            if response.kind == "tile":
                await self._cache_set(key, _TILE + response.body, self.ttl, self.stale_ttl)
                return response.body
            if self.negative_ttl > 0:
                await self._cache_set(key, _MISSING, self.negative_ttl, 0)
            return None

        async def fetch_value() -> tuple[bytes | None, bytes]:
            body = await fetch()
            return body, (_TILE + body if body is not None else _MISSING)

        async def adopt(value: bytes) -> bytes | None:  # another worker of this instance fetched it
            if self.keep_adopted:
                await self._store(key, value)
            return value[1:] if value[:1] == _TILE else None

        local_flight = self.local_flight
        try:
            if local_flight is not None:  # neighbouring output tiles share source tiles across workers too
                return await self.source_flight.do(key, lambda: local_flight.run(key, fetch_value, adopt))
            return await self.source_flight.do(key, fetch)
        except UpstreamError:
            if entry is not None and entry.value[:1] == _TILE:
                return entry.value[1:]  # stale source tile beats no tile
            raise


_BLANKS: dict[tuple[int, str], bytes] = {}


def _blank(size: int, kind: str) -> bytes:
    import numpy as np

    if (size, kind) not in _BLANKS:
        _BLANKS[size, kind] = encode_image(np.zeros((size, size, 4), dtype=np.uint8), kind)
    return _BLANKS[size, kind]


def _tile(marker: bytes, etag: bytes, body: bytes, stored_at: float, kind: str, *, age: int, stale: bool) -> Tile:
    return Tile(
        status=_STATUS[marker],
        body=body,
        content_type=IMAGE_TYPES[kind],
        etag=f'"{etag.decode()}"',
        stored_at=stored_at,
        age=age,
        stale=stale,
    )


def _from_value(value: bytes, now: float, kind: str) -> Tile:
    """A tile fetched just now, from its cache value (marker, 32-digit etag, body)."""
    return _tile(value[:1], value[1:33], value[33:], now, kind, age=0, stale=False)


def _decode(entry: CacheEntry, now: float, *, stale: bool) -> Tile:
    value = entry.value
    marker, etag, body = value[:1], value[1:33], value[33:]
    kind = image_type(body) or "png"
    return _tile(marker, etag, body, entry.stored_at, kind, age=entry.age(now), stale=stale)
