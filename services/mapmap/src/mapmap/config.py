"""MapMap's settings (the one place that reads the environment) and the upstream configuration file.

Upstreams come from configuration only: UPSTREAMS_FILE (YAML or JSON), or, when unset, the built-in
default that points at the demo upstream MapMap mounts on itself (no internet needed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from servicekit import LOCAL_PORTS, CheckLevel, CheckMessage, ServiceSettings

from mapmap.errors import ConfigError, UnsafeURLError
from mapmap.ssrf import host_of

__all__ = ["DEMO_HOST", "DEMO_PREFIX", "EndpointConfig", "Settings", "admin_token_check", "load_endpoints"]

DEMO_PREFIX = "/demo-upstream"
DEMO_HOST = "demo-upstream.invalid"
"""The built-in endpoints' upstream host: served in-process (an ASGI transport), never resolved."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class EndpointConfig(BaseModel):
    """One endpoint clients address as /tiles/{name}/...: an upstream, a layer and its grid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str | None = None
    capabilities_url: str | None = None
    """WMTS GetCapabilities URL (KVP or RESTful). Either this or `xyz_template`."""
    xyz_template: str | None = None
    """A plain XYZ upstream in WebMercatorQuad: `https://host/{z}/{x}/{y}.png`."""
    layer: str | None = None
    style: str | None = None
    format: str = "image/png"
    tile_matrix_set: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    """Hosts the capabilities may send us to; defaults to the configured URL's host."""
    axis_overrides: dict[str, Literal["en", "ne"]] = Field(default_factory=dict)
    token: SecretStr | None = None
    token_param: str = "token"  # noqa: S105 - the name of a query parameter, not a secret
    max_concurrency: int = Field(default=16, ge=1, le=256)
    resampling: Literal["bilinear", "bicubic"] = "bilinear"
    max_zoom: int = Field(default=20, ge=0, le=24)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("endpoint names are 1-64 of a-z 0-9 _ - and start with a letter or digit")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> EndpointConfig:
        if (self.capabilities_url is None) == (self.xyz_template is None):
            raise ValueError(f"endpoint {self.name!r}: set exactly one of capabilities_url and xyz_template")
        if self.capabilities_url is not None and self.layer is None:
            raise ValueError(f"endpoint {self.name!r}: a WMTS upstream needs `layer`")
        try:
            host_of(self.url)  # refuses non-http(s) and credentials in URLs at load time
        except UnsafeURLError as error:
            raise ValueError(f"endpoint {self.name!r}: {error.message}") from None
        return self

    @property
    def url(self) -> str:
        return self.capabilities_url or self.xyz_template or ""

    @property
    def hosts(self) -> tuple[str, ...]:
        if self.allowed_hosts:
            return self.allowed_hosts
        host, port = host_of(self.url)
        return (f"{host}:{port}" if port else host,)


class Settings(ServiceSettings):
    service_name = "mapmap"

    PORT: int = Field(default=LOCAL_PORTS["mapmap"], ge=1, le=65535)
    # Recycling a worker empties its in-memory tile cache (and stalls while it re-imports numpy/pyproj).
    MAX_REQUESTS: int = Field(default=0, ge=0)
    CACHE_SIZE: int = Field(default=10_000, ge=1)
    # Per worker. Measured: a worker is ~90 MiB RSS before tiles, the master ~40 MiB PSS, so 2 workers
    # with 128 MiB of tiles each stay inside a 512 MiB container (256 MiB each measured 620 MiB).
    CACHE_MAX_BYTES: int = Field(default=128 * 1024 * 1024, ge=1024, description="memory cache byte cap per worker")
    CACHE_TTL: int = Field(default=7200, ge=1)
    CACHE_STALE_TTL: int = Field(default=86_400, ge=0, description="serve-stale-on-error window after TTL")
    CACHE_SWR: int = Field(default=600, ge=0, description="stale-while-revalidate window after TTL")
    CACHE_NEGATIVE_TTL: int = Field(default=60, ge=0, description="how long upstream 404/204 are remembered")
    CACHE_BACKEND: Literal["memory", "redis", "mbtiles"] = "memory"
    CACHE_REDIS_URL: str | None = None
    CACHE_REDIS_MAX_CONNECTIONS: int = Field(default=64, ge=2, le=10_000, description="per worker; more waiters queue")
    CACHE_LOCK_TTL: float = Field(
        default=5.0, gt=0, description="Redis single-flight lease; a dead leader's waiters take over after it"
    )
    CACHE_LOCK_WAIT: float = Field(default=30.0, gt=0, description="longest wait on another worker's fetch")
    CACHE_LOCAL_FLIGHT: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="single-flight across processes without Redis (memory/mbtiles): auto = when served by "
        "several workers; on = always (e.g. instances sharing an MBTiles directory and CACHE_LOCK_DIR)",
    )
    CACHE_LOCK_DIR: Path | None = Field(
        default=None,
        description="memory/mbtiles caches with several workers: where they meet for single-flight "
        "(default: a directory per instance under /dev/shm, else the temp dir)",
    )
    CACHE_PATH: Path = Field(default=Path(".data/mapmap-tiles"), description="directory of the MBTiles cache files")
    CACHE_CONTROL_MAX_AGE: int = Field(default=3600, ge=0)
    CACHE_CONTROL_S_MAXAGE: int = Field(default=86_400, ge=0)
    CACHE_CONTROL_SWR: int = Field(default=600, ge=0)

    UPSTREAMS_FILE: Path | None = None
    DEMO_UPSTREAM: bool = True
    """Run the offline demo WMTS server in-process (the built-in endpoints use it; also at /demo-upstream)."""
    ADMIN_TOKEN: SecretStr | None = None

    UPSTREAM_CONNECT_TIMEOUT: float = Field(default=2.0, gt=0)
    UPSTREAM_READ_TIMEOUT: float = Field(default=10.0, gt=0)
    UPSTREAM_POOL_TIMEOUT: float = Field(default=5.0, gt=0)
    UPSTREAM_MAX_BYTES: int = Field(default=8 * 1024 * 1024, ge=1024)
    UPSTREAM_MAX_PIXELS: int = Field(default=4096 * 4096, ge=256 * 256)
    UPSTREAM_TRANSPORT: Literal["pooled", "httpcore"] = Field(
        default="pooled",
        description="pooled: MapMap's lean HTTP/1.1 keep-alive transport; httpcore: httpx's own (HTTP(S)_PROXY)",
    )
    BREAKER_FAILURE_THRESHOLD: int = Field(default=5, ge=1)
    BREAKER_FAILURE_WINDOW: float = Field(default=30.0, gt=0)
    BREAKER_RECOVERY_TIMEOUT: float = Field(default=15.0, gt=0)
    CAPABILITIES_TTL: int = Field(default=3600, ge=1)

    @property
    def cache_redis_url(self) -> str | None:
        return self.CACHE_REDIS_URL or self.REDIS_URL

    def self_url(self) -> str:
        host = "127.0.0.1" if self.HOST in ("0.0.0.0", "::", "") else self.HOST  # noqa: S104 - comparing, not binding
        return f"http://{host}:{self.PORT}"


def default_endpoints(_: Settings) -> list[EndpointConfig]:
    """The built-in endpoints: the in-process demo upstream in WebMercatorQuad and in LKS-92."""
    capabilities = f"http://{DEMO_HOST}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
    common = {"capabilities_url": capabilities, "layer": "demo", "format": "image/png"}
    return [
        EndpointConfig(name="demo", title="Demo (WebMercatorQuad passthrough)", tile_matrix_set="WebMercatorQuad",
                       **common),  # type: ignore[arg-type]
        EndpointConfig(name="demo-lks92", title="Demo (LKS-92 EPSG:3059, reprojected)", tile_matrix_set="LKS92",
                       **common),  # type: ignore[arg-type]
    ]  # fmt: skip


def parse_endpoints(document: str | bytes, *, source: str = "upstreams file") -> list[EndpointConfig]:
    """Read `{"endpoints": [...]}` (YAML or JSON) into validated EndpointConfigs."""
    try:
        data = yaml.safe_load(document)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source} is not valid YAML/JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise ConfigError(f"{source} must be a mapping with an `endpoints` list")
    try:
        endpoints = [EndpointConfig.model_validate(item) for item in data["endpoints"]]
    except ValidationError as error:
        raise ConfigError(f"{source}: {_first_error(error)}") from None
    names = [endpoint.name for endpoint in endpoints]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"{source}: duplicate endpoint names {sorted(duplicates)}")
    if not endpoints:
        raise ConfigError(f"{source} lists no endpoints")
    return endpoints


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    # never echo the input: it may be a token
    return f"{where}: {first['msg']}"


def load_endpoints(settings: Settings) -> list[EndpointConfig]:
    if settings.UPSTREAMS_FILE is None:
        return default_endpoints(settings)
    path = settings.UPSTREAMS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"UPSTREAMS_FILE {str(path)!r} cannot be read: {error.strerror}") from None
    return parse_endpoints(text, source=f"UPSTREAMS_FILE {path.name}")


def admin_token_check(settings: ServiceSettings) -> Iterable[CheckMessage]:
    """MM.W001: without ADMIN_TOKEN the purge endpoint is disabled (fine, but say so)."""
    token = getattr(settings, "ADMIN_TOKEN", None)
    if token is None or not token.get_secret_value():
        yield CheckMessage(
            "MM.W001", CheckLevel.WARNING, "ADMIN_TOKEN is not set; cache purge is disabled.",
            "set ADMIN_TOKEN (or ADMIN_TOKEN_FILE) to a random value of 32+ characters",
        )  # fmt: skip
    elif len(token.get_secret_value()) < 32:
        yield CheckMessage(
            "MM.E001", CheckLevel.ERROR, "ADMIN_TOKEN is shorter than 32 characters.",
            'generate one with `python -c "import secrets; print(secrets.token_hex(32))"`',
        )  # fmt: skip


def dumps_endpoints(endpoints: list[EndpointConfig]) -> str:
    """JSON of the endpoints without secrets (for logs and `mapmap check`)."""
    return json.dumps([e.model_dump(mode="json", exclude={"token"}) for e in endpoints])
