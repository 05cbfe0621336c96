"""MapMap's ASGI app: tile routes, TileJSON, WMTS out, admin purge, demo page — inside servicekit's
envelope (health, readiness, metrics, logs, host checks, CORS, rate limits come from there)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from servicekit import Health, ReadinessCheck, ServiceMetrics, envelope, metrics_for
from servicekit.asgi import ASGIApp
from servicekit.resilience import BreakerMetrics, Cache, CircuitBreaker, MemoryCache, RedisCache
from servicekit.serving import freeze_startup_heap, worker_processes
from starlette.exceptions import HTTPException as StarletteHTTPException

from mapmap.config import DEMO_HOST, DEMO_PREFIX, Settings, admin_token_check, load_endpoints
from mapmap.errors import AdminAuthError, InvalidTileRequest, MapMapError, UpstreamUnavailable, error_body, http_status
from mapmap.ssrf import host_of
from mapmap.tiles import Endpoint, Tile, TileMetrics, TileService
from mapmap.upstream import UpstreamClient, UpstreamMetrics

__all__ = ["asgi", "build_service", "create_app"]

_Y_PART = re.compile(r"^(?P<y>[^.@]{1,12})(?P<retina>@2x)?(?:\.(?P<ext>[A-Za-z]{1,5}))?$")


def _metrics(metrics: ServiceMetrics | None) -> tuple[TileMetrics | None, UpstreamMetrics | None]:
    if metrics is None:
        return None, None
    ns = metrics.namespace
    tile_metrics = TileMetrics(
        hits=metrics.counter(f"{ns}_cache_hits_total", "Tiles answered from the cache.", ("endpoint",)),
        misses=metrics.counter(f"{ns}_cache_misses_total", "Tiles not in the cache.", ("endpoint",)),
        coalesced=metrics.counter(
            f"{ns}_coalesced_waiters_total", "Requests that waited on another request's upstream fetch.", ("endpoint",)
        ),
        stale=metrics.counter(
            f"{ns}_stale_served_total", "Stale tiles served (revalidate or upstream error).", ("endpoint", "reason")
        ),
        cache_errors=metrics.counter(f"{ns}_cache_errors_total", "Cache backend errors (failed open).", ("op",)),
    )
    upstream_metrics = UpstreamMetrics(
        latency=metrics.histogram(f"{ns}_upstream_request_duration_seconds", "Upstream fetch latency.", ("upstream",)),
        errors=metrics.counter(
            f"{ns}_upstream_errors_total", "Upstream errors by kind or status.", ("upstream", "kind")
        ),
    )
    return tile_metrics, upstream_metrics


def _cache(settings: Settings) -> tuple[Cache, Any]:
    if settings.CACHE_BACKEND == "redis":
        url = settings.cache_redis_url
        if not url:
            from mapmap.errors import ConfigError

            raise ConfigError("CACHE_BACKEND=redis needs CACHE_REDIS_URL or REDIS_URL")
        # a blocking pool: a burst beyond max_connections waits for a connection instead of failing (a failed
        # cache read would fail open into an upstream fetch and break single-flight)
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=settings.CACHE_REDIS_MAX_CONNECTIONS, timeout=2.0,
            socket_timeout=1.0, socket_connect_timeout=1.0,
        )  # fmt: skip
        client = redis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
        return RedisCache(client, prefix="mapmap:tiles"), client
    if settings.CACHE_BACKEND == "mbtiles":
        from mapmap.cache_mbtiles import MBTilesCache

        try:
            return MBTilesCache(settings.CACHE_PATH), None
        except OSError as error:
            from mapmap.errors import ConfigError

            raise ConfigError(f"CACHE_PATH {str(settings.CACHE_PATH)!r} cannot be used: {error.strerror}") from None
    return MemoryCache(settings.CACHE_SIZE, max_bytes=settings.CACHE_MAX_BYTES), None


def build_service(settings: Settings, metrics: ServiceMetrics | None = None) -> tuple[TileService, Any]:
    """The tile service for these settings (also used by `mapmap seed`)."""
    tile_metrics, upstream_metrics = _metrics(metrics)
    breaker_metrics = BreakerMetrics(metrics) if metrics is not None else None
    endpoints = {}
    demo_transport = None
    if settings.DEMO_UPSTREAM:
        from mapmap.demo_upstream import DemoUpstream

        demo_transport = httpx.ASGITransport(app=DemoUpstream().app())
    refreshes = (
        metrics.counter(
            f"{metrics.namespace}_capabilities_refresh_total",
            "Conditional capabilities refreshes by result (updated, not_modified, failed).",
            ("endpoint", "result"),
        )
        if metrics is not None
        else None
    )

    def count_refresh(endpoint: str, result: str) -> None:
        if refreshes is not None:
            refreshes.labels(endpoint, result).inc()

    for config in load_endpoints(settings):
        breaker = CircuitBreaker(
            f"upstream:{config.name}",
            failure_threshold=settings.BREAKER_FAILURE_THRESHOLD,
            failure_window=settings.BREAKER_FAILURE_WINDOW,
            recovery_timeout=settings.BREAKER_RECOVERY_TIMEOUT,
            listeners=[breaker_metrics] if breaker_metrics else [],
        )
        client = UpstreamClient(
            config.name,
            allowed_hosts=config.hosts,
            breaker=breaker,
            token=config.token,
            token_param=config.token_param,
            connect_timeout=settings.UPSTREAM_CONNECT_TIMEOUT,
            read_timeout=settings.UPSTREAM_READ_TIMEOUT,
            pool_timeout=settings.UPSTREAM_POOL_TIMEOUT,
            max_concurrency=config.max_concurrency,
            max_bytes=settings.UPSTREAM_MAX_BYTES,
            max_pixels=settings.UPSTREAM_MAX_PIXELS,
            metrics=upstream_metrics,
            transport=demo_transport if host_of(config.url)[0] == DEMO_HOST else None,
            pooled_transport=settings.UPSTREAM_TRANSPORT == "pooled",
        )
        endpoints[config.name] = Endpoint(
            config, client, capabilities_ttl=settings.CAPABILITIES_TTL, on_refresh=count_refresh
        )
    cache, redis_client = _cache(settings)
    service = TileService(
        endpoints,
        cache,
        ttl=settings.CACHE_TTL,
        stale_ttl=settings.CACHE_STALE_TTL,
        swr=settings.CACHE_SWR,
        negative_ttl=settings.CACHE_NEGATIVE_TTL,
        metrics=tile_metrics,
        track_size=settings.CACHE_BACKEND == "memory",
    )
    if redis_client is not None:
        from mapmap.redis_flight import RedisFlight

        subscriber = redis.Redis.from_url(
            settings.cache_redis_url or "", socket_connect_timeout=1.0, socket_keepalive=True
        )  # no socket timeout: it blocks reading announcements
        service.shared_flight = RedisFlight(
            redis_client, subscriber, lease=settings.CACHE_LOCK_TTL, wait_timeout=settings.CACHE_LOCK_WAIT,
            on_waiting=service.count_coalesced, on_redis_error=lambda: service.count_cache_error("flight"),
        )  # fmt: skip
    elif settings.CACHE_LOCAL_FLIGHT == "on" or (settings.CACHE_LOCAL_FLIGHT == "auto" and worker_processes() > 1):
        from mapmap.local_flight import LocalFlight

        try:
            service.local_flight = LocalFlight(
                flight_directory(settings), wait_timeout=settings.CACHE_LOCK_WAIT, on_waiting=service.count_coalesced
            )
        except OSError as error:  # each worker still coalesces its own requests
            logging.getLogger("mapmap").warning("cross-worker single-flight off: %s", error)
        service.keep_adopted = settings.CACHE_BACKEND == "memory"  # MBTiles files are shared already
    return service, redis_client


def flight_directory(settings: Settings) -> Path:
    """Where this instance's workers meet: per user, gunicorn master and upstream configuration, so
    two instances on one host never adopt each other's tiles."""
    if settings.CACHE_LOCK_DIR is not None:
        return settings.CACHE_LOCK_DIR
    shm = Path("/dev/shm")  # noqa: S108 - LocalFlight refuses a directory it does not own alone
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    config = f"{settings.UPSTREAMS_FILE}|{settings.DEMO_UPSTREAM}|{settings.CACHE_BACKEND}|{settings.CACHE_PATH}"
    digest = hashlib.sha256(config.encode()).hexdigest()[:12]
    return base / f"mapmap-flight-{os.getuid()}-{os.getppid()}-{digest}"


def _cache_control(settings: Settings, tile: Tile) -> str:
    if tile.status != 200:
        return f"public, max-age={settings.CACHE_NEGATIVE_TTL}"
    return (
        f"public, max-age={settings.CACHE_CONTROL_MAX_AGE}, s-maxage={settings.CACHE_CONTROL_S_MAXAGE}, "
        f"stale-while-revalidate={settings.CACHE_CONTROL_SWR}, stale-if-error={settings.CACHE_STALE_TTL}"
    )


@lru_cache(maxsize=4096)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)


def _not_modified(request: Request, tile: Tile) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or tile.etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return math.floor(tile.stored_at) <= since
    return False


def tile_response(request: Request, settings: Settings, tile: Tile) -> Response:
    headers = {
        "ETag": tile.etag,
        "Cache-Control": _cache_control(settings, tile),
        "Last-Modified": _http_date(int(tile.stored_at)),
    }
    if tile.age or tile.stale:
        headers["Age"] = str(tile.age)
    if tile.status == 200 and _not_modified(request, tile):
        return Response(status_code=304, headers=headers)
    if tile.status == 404:
        return JSONResponse({"error": "tile_not_found", "detail": "the upstream has no tile here"}, 404, headers)
    if tile.status == 204:
        return Response(status_code=204, headers=headers)
    return Response(tile.body, media_type=tile.content_type, headers=headers)


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or Settings()
    metrics = metrics_for(settings)
    service, redis_client = build_service(settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        shared = settings.CACHE_BACKEND != "memory"  # other replicas change it: count it now and then
        refresher = asyncio.create_task(_refresh_size(service)) if shared else None
        if service.shared_flight is not None:
            await service.shared_flight.start()
        freeze_startup_heap()
        yield
        if refresher is not None:
            refresher.cancel()
            with suppress(asyncio.CancelledError):
                await refresher
        await service.aclose()
        if redis_client is not None:
            await redis_client.aclose()

    api = FastAPI(title="MapMap", version="0.1.0", lifespan=lifespan)
    api.state.settings = settings
    api.state.tiles = service

    @api.exception_handler(MapMapError)
    async def mapmap_error(_: Request, error: MapMapError) -> JSONResponse:
        headers = {}
        if isinstance(error, UpstreamUnavailable):
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
        return JSONResponse(error_body(error), status_code=http_status(error), headers=headers)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(error.detail)}, error.status_code, dict(error.headers or {}))

    async def serve_tile(request: Request, endpoint: str, z: str, x: str, y_part: str) -> Response:
        match = _Y_PART.match(y_part)
        if match is None:
            raise InvalidTileRequest("the last path segment must look like 12, 12.png or 12@2x.png")
        size_param = request.query_params.get("tile_size", "256")
        if size_param not in ("256", "512"):
            raise InvalidTileRequest("tile_size must be 256 or 512")
        tile_size = 512 if match["retina"] else int(size_param)
        tile = await service.get(endpoint, z, x, match["y"], extension=match["ext"], tile_size=tile_size)
        return tile_response(request, settings, tile)

    # Plain Starlette routes: FastAPI's per-request parameter machinery was ~40% of a cached hit's CPU,
    # and serve_tile validates every part itself.
    async def tile_by_path(request: Request) -> Response:
        params = request.path_params
        return await serve_tile(request, params["endpoint"], params["z"], params["x"], params["y_part"])

    async def tile_by_query(request: Request) -> Response:
        endpoint = request.query_params.get("endpoint")
        if not endpoint:
            raise InvalidTileRequest("the `endpoint` query parameter is required on /tiles/{z}/{x}/{y}")
        params = request.path_params
        return await serve_tile(request, endpoint, params["z"], params["x"], params["y_part"])

    api.add_route("/tiles/{endpoint}/{z}/{x}/{y_part}", tile_by_path, methods=["GET"])
    api.add_route("/tiles/{z}/{x}/{y_part}", tile_by_query, methods=["GET"])

    @api.get("/tiles/{endpoint}/tilejson.json")
    async def tilejson(request: Request, endpoint: str) -> dict[str, Any]:
        config = service.endpoint(endpoint).config
        base = str(request.base_url).rstrip("/")
        extension = {"image/jpeg": "jpg", "image/webp": "webp"}.get(config.format, "png")
        return {
            "tilejson": "3.0.0",
            "name": config.name,
            "description": config.title or config.name,
            "scheme": "xyz",
            "tiles": [f"{base}/tiles/{config.name}/{{z}}/{{x}}/{{y}}.{extension}"],
            "minzoom": 0,
            "maxzoom": config.max_zoom,
            "bounds": [-180.0, -85.0511287798066, 180.0, 85.0511287798066],
        }

    @api.get("/endpoints")
    async def list_endpoints() -> dict[str, Any]:
        return {
            "endpoints": [
                {"name": e.name, "title": e.config.title or e.name, "format": e.config.format}
                for e in service.endpoints.values()
            ]
        }

    @api.post("/admin/cache/purge")
    async def purge(request: Request) -> dict[str, Any]:
        token = settings.ADMIN_TOKEN.get_secret_value() if settings.ADMIN_TOKEN else ""
        if not token:
            raise AdminAuthError("admin actions are disabled: ADMIN_TOKEN is not set")
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise AdminAuthError("a valid admin token is required (Authorization: Bearer ...)")
        return {"purged": await service.purge()}

    from mapmap.wmts_out import add_wmts_routes

    add_wmts_routes(api, service, settings)
    _add_demo(api, settings)

    checks = []
    if redis_client is not None:

        async def ping_cache() -> None:
            await redis_client.ping()

        checks.append(ReadinessCheck("cache", ping_cache, timeout=1.0))
    disk_ping = getattr(service.cache, "ping", None)
    if disk_ping is not None:
        checks.append(ReadinessCheck("cache", disk_ping, timeout=2.0))
    health = Health(
        "mapmap",
        checks=checks,
        liveness_details=lambda: {"cache_size": service.cache_size, "endpoints": len(service.endpoints)},
    )
    app = envelope(api, settings, health=health, metrics=metrics, extra_checks=[admin_token_check])
    # httpx logs full request URLs at INFO, and upstream URLs may carry tokens
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return app


def _add_demo(api: FastAPI, settings: Settings) -> None:
    if settings.DEMO_UPSTREAM:
        from mapmap.demo_upstream import DemoUpstream

        api.mount(DEMO_PREFIX, DemoUpstream().app())
    from mapmap.demo_page import add_demo_page

    add_demo_page(api)


async def _refresh_size(service: TileService, interval: float = 15.0) -> None:
    sweep = getattr(service.cache, "sweep", None)  # disk caches drop expired entries here, not per request
    while True:
        if sweep is not None:
            try:
                await sweep()
            except Exception as error:  # maintenance only: the next round tries again
                logging.getLogger("mapmap.cache").warning("cache sweep failed: %s", type(error).__name__)
        await service.refresh_size()
        await asyncio.sleep(interval)


def asgi() -> ASGIApp:
    """Zero-argument factory for uvicorn/gunicorn (`mapmap.app:asgi`)."""
    return create_app(Settings())
