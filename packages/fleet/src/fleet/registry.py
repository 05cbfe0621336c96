"""The one place where services register with the fleet (ports come from servicekit.LOCAL_PORTS).

A service whose console script is not installed is skipped, so the fleet runs with none, some or
all of the services present.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from servicekit import LOCAL_PORTS

__all__ = ["SERVICES", "BackingPorts", "BackingUrls", "ServiceSpec"]


@dataclass(frozen=True)
class BackingPorts:
    """Loopback ports of the backing servers; off the defaults so a distro server cannot collide."""

    postgres: int = 5433
    redis_shared: int = 6380
    redis_db_g1: int = 6381
    redis_db_g2: int = 6382

    @classmethod
    def from_base(cls, base: int) -> BackingPorts:
        return cls(base, base + 1, base + 2, base + 3)


@dataclass(frozen=True)
class BackingUrls:
    postgres_dsn: Callable[[str], str]
    redis_shared: str
    redis_db_g1: str
    redis_db_g2: str


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    port: int
    serve: tuple[str, ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    health_path: str = "/health"
    docs_path: str | None = "/docs"
    main_path: str = "/"
    env: Callable[[BackingUrls], dict[str, str]] = field(default=lambda urls: {})
    databases: tuple[str, ...] = ()
    """PostgreSQL databases (with PostGIS, pgRouting, pg_trgm) the service needs."""

    def executable(self) -> str | None:
        """The console script in this environment, or None when the service is not installed."""
        local = Path(sys.prefix) / "bin" / self.serve[0]
        if local.exists():
            return str(local)
        return shutil.which(self.serve[0])

    def serve_argv(self) -> list[str]:
        return [*self.serve, "--host", "127.0.0.1", "--port", str(self.port)]


def _capstore_env(urls: BackingUrls) -> dict[str, str]:
    return {"DB_G1_URL": urls.redis_db_g1, "DB_G2_URL": urls.redis_db_g2}


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="mapmap",
        title="MapMap — WMTS/XYZ tile proxy",
        port=LOCAL_PORTS["mapmap"],
        serve=("mapmap", "serve"),
        main_path="/demo/",
        env=lambda urls: {"REDIS_URL": urls.redis_shared},
    ),
    ServiceSpec(
        name="indoormaps",
        title="indoormaps — indoor maps, SSE streams, OGC API Features, routing",
        port=LOCAL_PORTS["indoormaps"],
        serve=("indoormaps", "serve"),
        prepare=(("indoormaps", "demo-data"),),
        health_path="/api/health/",
        docs_path="/api/schema/",
        main_path="/map/",
        env=lambda urls: {"DATABASE_URL": urls.postgres_dsn("indoormaps")},
        databases=("indoormaps",),
    ),
    ServiceSpec(
        name="spoton",
        title="SpotOn — multi-camera tracking and analytics",
        port=LOCAL_PORTS["spoton"],
        serve=("spoton", "serve"),
        docs_path="/api/v1/docs",
        main_path="/dashboard",
        env=lambda urls: {"REDIS_URL": urls.redis_shared},
    ),
    ServiceSpec(
        name="dot2archimate",
        title="dot2archimate — DOT and terraform graphs to ArchiMate",
        port=LOCAL_PORTS["dot2archimate"],
        serve=("dot2archimate", "serve"),
        env=lambda urls: {"REDIS_URL": urls.redis_shared},
    ),
    ServiceSpec(
        name="capstore-cp",
        title="capstore app_cp — consistent under partitions",
        port=LOCAL_PORTS["capstore-cp"],
        serve=("capstore", "serve", "--mode", "cp"),
        main_path="/console/",
        env=_capstore_env,
    ),
    ServiceSpec(
        name="capstore-ap",
        title="capstore app_ap — available under partitions",
        port=LOCAL_PORTS["capstore-ap"],
        serve=("capstore", "serve", "--mode", "ap"),
        main_path="/console/",
        env=_capstore_env,
    ),
)
