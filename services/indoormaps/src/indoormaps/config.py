"""The service's settings: the only place indoormaps reads its environment (via servicekit)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, model_validator
from servicekit import LOCAL_PORTS, CheckLevel, CheckMessage, ServiceSettings

from indoormaps.django_settings import build_django_settings
from indoormaps.query import QueryLimits

__all__ = ["LOCAL_DATABASE_URL", "Settings", "indoormaps_checks"]

# The fleet's local PostgreSQL cluster (servicekit.local.PostgresServer's login role) on the default port.
LOCAL_DATABASE_URL = "postgresql://flotilla:flotilla-local-only@127.0.0.1:5432/indoormaps"


class Settings(ServiceSettings):
    service_name = "indoormaps"

    PORT: int = Field(default=LOCAL_PORTS["indoormaps"], ge=1, le=65535)

    DATABASE_URL: SecretStr = SecretStr(LOCAL_DATABASE_URL)
    PG_CONNECT_TIMEOUT: int = Field(default=5, ge=1, le=120, description="seconds")
    CONN_MAX_AGE: int = Field(default=0, ge=0, description="Django persistent connections; 0 under ASGI")
    STATEMENT_TIMEOUT_MS: int = Field(default=5000, ge=10, le=600_000)
    POOL_MIN: int = Field(default=1, ge=0, le=200)
    POOL_MAX: int = Field(default=10, ge=1, le=500)
    POOL_TIMEOUT: float = Field(default=0.5, gt=0, le=60, description="seconds to wait for a free connection")

    SSE_BATCH_SIZE: int = Field(default=500, ge=1, le=5000)
    SSE_MAX_BATCH_SIZE: int = Field(default=2000, ge=1, le=10_000)
    SSE_HEARTBEAT_SECONDS: float = Field(default=15.0, gt=0, le=300)
    SSE_RETRY_MS: int = Field(default=3000, ge=100, le=600_000)

    PAGE_DEFAULT_LIMIT: int = Field(default=100, ge=1, le=10_000)
    PAGE_MAX_LIMIT: int = Field(default=1000, ge=1, le=10_000)
    MAX_BBOX_SIDE_M: float = Field(default=20_000.0, gt=0)

    CURSOR_SECRET: SecretStr | None = None
    GDAL_LIBRARY_PATH: str | None = None
    GEOS_LIBRARY_PATH: str | None = None

    IMPORT_GDAL_TIMEOUT_S: float = Field(default=120.0, gt=0, le=3600, description="ogr2ogr per file (DXF/GeoJSON)")
    IMPORT_LAYER_MAPPING: str | None = Field(default=None, description="YAML layer mapping for DXF/GeoJSON imports")

    @model_validator(mode="after")
    def _pool_bounds(self) -> Settings:
        if self.POOL_MIN > self.POOL_MAX:
            raise ValueError(f"POOL_MIN ({self.POOL_MIN}) must not exceed POOL_MAX ({self.POOL_MAX})")
        if self.PAGE_DEFAULT_LIMIT > self.PAGE_MAX_LIMIT:
            raise ValueError("PAGE_DEFAULT_LIMIT must not exceed PAGE_MAX_LIMIT")
        if self.SSE_BATCH_SIZE > self.SSE_MAX_BATCH_SIZE:
            raise ValueError("SSE_BATCH_SIZE must not exceed SSE_MAX_BATCH_SIZE")
        return self

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL.get_secret_value()

    @property
    def pool_dsn(self) -> str:
        """The pool's DSN: tagged with application_name so its sessions are findable in pg_stat_activity."""
        url = self.database_url
        if "application_name=" in url:
            return url
        return url + ("&" if "?" in url else "?") + "application_name=indoormaps"

    @property
    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            default_limit=self.PAGE_DEFAULT_LIMIT,
            max_limit=self.PAGE_MAX_LIMIT,
            max_bbox_side_m=self.MAX_BBOX_SIDE_M,
        )

    def cursor_secret(self) -> bytes:
        """CURSOR_SECRET, else derived from SECRET_KEY, else random (cursors then die with the process)."""
        if self.CURSOR_SECRET is not None and self.CURSOR_SECRET.get_secret_value():
            return self.CURSOR_SECRET.get_secret_value().encode()
        if self.SECRET_KEY is not None and self.SECRET_KEY.get_secret_value():
            key = self.SECRET_KEY.get_secret_value().encode()
            return hmac.new(key, b"indoormaps-cursor", hashlib.sha256).digest()
        return secrets.token_bytes(32)

    def django_settings(self) -> dict[str, Any]:
        secret = self.SECRET_KEY.get_secret_value() if self.SECRET_KEY else None
        return build_django_settings(
            self.database_url,
            # Django never renders its debug pages: errors are JSON from our handlers in every mode.
            debug=False,
            secret_key=secret,
            # The Host header is checked once, by servicekit's stack, before Django sees a request.
            allowed_hosts=["*"],
            connect_timeout=self.PG_CONNECT_TIMEOUT,
            conn_max_age=self.CONN_MAX_AGE,
            gdal_library_path=self.GDAL_LIBRARY_PATH,
            geos_library_path=self.GEOS_LIBRARY_PATH,
        )


def indoormaps_checks(settings: ServiceSettings) -> Iterable[CheckMessage]:
    """Deploy checks of this service (IM.*), run by `indoormaps check --deploy` and at production start."""
    assert isinstance(settings, Settings)
    if settings.CONN_MAX_AGE != 0:
        yield CheckMessage(
            "IM.E001",
            CheckLevel.ERROR,
            f"CONN_MAX_AGE is {settings.CONN_MAX_AGE}; under ASGI persistent Django connections leak per thread.",
            "set CONN_MAX_AGE=0 (the psycopg pool and PgBouncer do the pooling).",
        )
    url = settings.database_url
    if "options" in parse_qs(urlsplit(url).query):
        yield CheckMessage(
            "IM.E002",
            CheckLevel.ERROR,
            "DATABASE_URL carries a libpq 'options' startup parameter, which PgBouncer rejects.",
            "drop it: statement timeouts are set per transaction (STATEMENT_TIMEOUT_MS) and as role defaults.",
        )
    if url == LOCAL_DATABASE_URL:
        yield CheckMessage(
            "IM.E003",
            CheckLevel.ERROR,
            "DATABASE_URL is the local development cluster's default.",
            "set DATABASE_URL (or DATABASE_URL_FILE) to the production PgBouncer/PostGIS address.",
        )
    if settings.CURSOR_SECRET is None and settings.SECRET_KEY is None:
        yield CheckMessage(
            "IM.W001",
            CheckLevel.WARNING,
            "no CURSOR_SECRET or SECRET_KEY: cursors are signed with a per-process key.",
            "set SECRET_KEY (cursors are derived from it) or CURSOR_SECRET, identical on every replica.",
        )
    if settings.IMPORT_LAYER_MAPPING:
        from indoormaps.drawings.mapping import LayerMapping
        from indoormaps.errors import DrawingError

        try:
            LayerMapping.load(Path(settings.IMPORT_LAYER_MAPPING))
        except DrawingError as exc:
            yield CheckMessage(
                "IM.E004",
                CheckLevel.ERROR,
                f"IMPORT_LAYER_MAPPING is unusable: {exc.message}",
                "point it at a readable YAML layer mapping (see indoormaps/data/layer-mapping.yaml) or unset it.",
            )
