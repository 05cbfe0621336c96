"""What the views share for one app instance: the pool (opened in lifespan), the feature store, the
router, limits and domain metrics. It travels to the views in the ASGI scope, never as a global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from servicekit import ReadinessCheck, ServiceMetrics

from indoormaps.config import Settings
from indoormaps.cursor import CursorCodec
from indoormaps.db import Database, open_pool
from indoormaps.errors import DatabaseUnavailable
from indoormaps.routing import PgRouter
from indoormaps.streams import FeatureStore, current_version

__all__ = ["SCOPE_KEY", "DomainMetrics", "Runtime"]

SCOPE_KEY = "indoormaps.runtime"

_BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class DomainMetrics:
    """Stream, route and error metrics registered on the service's registry."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        ns = metrics.namespace
        self.batch_seconds = metrics.histogram(
            f"{ns}_stream_batch_seconds", "Database time per keyset batch, by layer.", ("layer",), _BATCH_BUCKETS
        )
        self.features_total = metrics.counter(
            f"{ns}_stream_features_total", "Features sent by streams and pages, by layer.", ("layer",)
        )
        self.open_streams = metrics.gauge(f"{ns}_open_streams", "Streams being served now.", (), mode="livesum")
        self.route_seconds = metrics.histogram(
            f"{ns}_route_seconds", "Route computation time, by profile and algorithm.", ("profile", "algorithm")
        )
        self.errors_total = metrics.counter(f"{ns}_errors_total", "Typed errors answered, by code.", ("code",))


@dataclass
class Runtime:
    settings: Settings
    metrics: DomainMetrics | None = None
    _db: Database | None = None
    store: FeatureStore | None = None
    router: PgRouter | None = None
    _extents: dict[tuple[int, str], list[float] | None] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        if self._db is None:
            raise DatabaseUnavailable("the database pool is not open (service starting or stopping)")
        return self._db

    def feature_store(self) -> FeatureStore:
        if self.store is None:
            raise DatabaseUnavailable("the database pool is not open (service starting or stopping)")
        return self.store

    def pg_router(self) -> PgRouter:
        if self.router is None:
            raise DatabaseUnavailable("the database pool is not open (service starting or stopping)")
        return self.router

    async def open(self) -> None:
        s = self.settings
        pool = await open_pool(
            s.pool_dsn,
            min_size=s.POOL_MIN,
            max_size=s.POOL_MAX,
            connect_timeout_s=float(s.PG_CONNECT_TIMEOUT),
            name="indoormaps",
        )
        self._db = Database(pool, acquire_timeout_s=s.POOL_TIMEOUT, statement_timeout_ms=s.STATEMENT_TIMEOUT_MS)
        self.store = FeatureStore(self._db, CursorCodec(s.cursor_secret()))
        self.router = PgRouter(self._db)

    async def close(self) -> None:
        db, self._db, self.store, self.router = self._db, None, None, None
        if db is not None:
            await db.pool.close(timeout=5.0)

    async def extent(self, version: int, from_sql: str, key: str) -> list[float] | None:
        """[minx, miny, maxx, maxy] of a layer in one data version (versions are immutable: cached)."""
        if (version, key) not in self._extents:
            async with self.db.read() as conn:
                cur = await conn.execute(
                    f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "  # noqa: S608 - layer constant
                    f"(SELECT ST_Extent(f.geom) AS e FROM {from_sql} WHERE f.version_id = %s) s",
                    (version,),
                )
                row = await cur.fetchone()
            self._extents[(version, key)] = [round(float(v), 7) for v in row] if row and row[0] is not None else None
        return self._extents[(version, key)]

    # Readiness checks (servicekit runs them concurrently, each with a timeout) -----------------

    async def check_database(self) -> dict[str, Any]:
        async with self.db.read() as conn:
            cur = await conn.execute("SELECT current_setting('server_version')")
            row = await cur.fetchone()
        return {"server_version": row[0] if row else None}

    async def check_pool(self) -> dict[str, Any]:
        pool = self.db.pool
        if pool.closed:
            raise DatabaseUnavailable("the pool is closed")
        stats = pool.get_stats()
        return {
            "size": stats.get("pool_size", 0),
            "available": stats.get("pool_available", 0),
            "waiting": stats.get("requests_waiting", 0),
            "max": pool.max_size,
        }

    async def check_data(self) -> dict[str, Any]:
        return {"data_version": await current_version(self.db)}

    def readiness_checks(self) -> list[ReadinessCheck]:
        timeout = max(1.0, self.settings.POOL_TIMEOUT + 0.5)
        return [
            ReadinessCheck("database", self.check_database, timeout=timeout),
            ReadinessCheck("pool", self.check_pool, timeout=timeout),
            ReadinessCheck("data_version", self.check_data, timeout=timeout),
        ]
