"""capstore's settings (the only place that reads the environment) and its deploy checks.

One codebase, two apps: `MODE=cp` (app_cp, port 5001) or `MODE=ap` (app_ap, port 5002) over the
same two Redis nodes `db_g1` and `db_g2`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from servicekit import LOCAL_PORTS, CheckLevel, CheckMessage, ServiceSettings
from servicekit.checks import is_weak_secret

__all__ = ["NODE_IDS", "Mode", "Settings", "fault_admin_check", "node_url"]

Mode = Literal["cp", "ap"]
NODE_IDS: tuple[str, str] = ("db_g1", "db_g2")


def node_url(url: str, database: int, *, host: str | None = None, port: int | None = None) -> str:
    """`url` with its database replaced (and host/port, to point it at a fault proxy)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if host is not None and port is not None:
        credentials = netloc.rpartition("@")[0]
        netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


class Settings(ServiceSettings):
    service_name = "capstore"

    MODE: Mode = "cp"
    PORT: int = Field(default=LOCAL_PORTS["capstore-cp"], ge=1, le=65535)
    """Defaults to 5001 in cp mode and 5002 in ap mode (servicekit.LOCAL_PORTS)."""
    # Each worker runs its own coordinator (and, in AP, its own replicators): scale with replicas.
    WORKERS: int = Field(default=1, ge=1, le=64)
    # Recycling the worker (gunicorn max_requests) would leave a one-worker app without a server while
    # the new one boots (measured: a 0.7 s stall, p99 706 ms) and drop the replicators' progress.
    MAX_REQUESTS: int = Field(default=0, ge=0)

    NETWORK_TIMEOUT_SEC: float = Field(default=0.5, gt=0, le=30)
    MAX_STALENESS_MS: float = Field(default=1000.0, ge=0)
    DB_G1_URL: str = "redis://127.0.0.1:6381/0"
    DB_G2_URL: str = "redis://127.0.0.1:6382/0"
    PRIMARY_NODE: Literal["db_g1", "db_g2"] = "db_g1"
    """CP: the primary (serves reads, written last). AP: the preferred (local) node."""
    DB_INDEX_CP: int = Field(default=0, ge=0, le=15)
    DB_INDEX_AP: int = Field(default=1, ge=0, le=15)
    """The two modes keep their keys in different Redis databases of the same nodes: AP's
    anti-entropy would otherwise copy a refused CP write's orphan from a backup to the primary."""

    BREAKER_FAILURE_THRESHOLD: int = Field(default=3, ge=1)
    BREAKER_FAILURE_WINDOW: float = Field(default=10.0, gt=0)
    BREAKER_RECOVERY_TIMEOUT: float = Field(default=0.5, gt=0)
    """A node that comes back is probed this soon (AP replication waits for it: convergence after a
    heal); a probe costs one caller at most NETWORK_TIMEOUT_SEC."""
    SESSION_WAIT_MS: float = Field(default=200.0, ge=0, le=10_000)
    ANTI_ENTROPY_INTERVAL_SEC: float = Field(default=1.0, gt=0)
    REPLICATION_LINGER_MS: float = Field(default=5.0, ge=0, le=1000)
    """AP: after shipping a short batch, a replicator waits this long for more entries (fewer, larger
    batches under load; adds at most this much replication lag). 0 ships every entry at once."""
    TOMBSTONE_GRACE_SEC: float = Field(default=3600.0, gt=0)
    """AP: a delete's tombstone is collected once it is this old and every node has applied it
    (ADR 0100 addendum); keep it well above the clock skew between app hosts and any partition."""
    MAX_LOG_LEN: int = Field(default=100_000, ge=100)

    # The seed's limits: 1000 per hour and 100 per minute per client.
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_REQUESTS: int = Field(default=1000, ge=1)
    RATE_LIMIT_WINDOW: int = Field(default=3600, ge=1)
    RATE_LIMIT_PER_MINUTE: int | None = Field(default=100, ge=1)

    ENABLE_FAULT_ADMIN: bool | None = None
    """None: on in development, off in production. The app then reaches each node through a fault
    proxy it starts itself, and /admin/faults can partition, delay, kill and heal."""
    ADMIN_TOKEN: SecretStr | None = None
    ENABLE_CONSOLE: bool = True
    CONSOLE_PEER_URL: str | None = None
    """Where the console reaches the other app (default: the other mode on 127.0.0.1)."""

    @field_validator("DB_G1_URL", "DB_G2_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6381/0")
        return value

    @field_validator("CONSOLE_PEER_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:5002")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _mode_defaults(self) -> Settings:
        if self.DB_INDEX_CP == self.DB_INDEX_AP:
            raise ValueError("DB_INDEX_CP and DB_INDEX_AP must differ (the modes must not share keys)")
        if "PORT" not in self.model_fields_set:
            object.__setattr__(self, "PORT", LOCAL_PORTS[f"capstore-{self.MODE}"])
        return self

    @property
    def fault_admin_enabled(self) -> bool:
        if self.ENABLE_FAULT_ADMIN is None:
            return not self.PRODUCTION_MODE
        return self.ENABLE_FAULT_ADMIN

    @property
    def database(self) -> int:
        return self.DB_INDEX_CP if self.MODE == "cp" else self.DB_INDEX_AP

    @property
    def node_urls(self) -> dict[str, str]:
        """Node id → the node's URL, with this mode's database."""
        return {"db_g1": node_url(self.DB_G1_URL, self.database), "db_g2": node_url(self.DB_G2_URL, self.database)}

    @property
    def peer_mode(self) -> Mode:
        return "ap" if self.MODE == "cp" else "cp"

    @property
    def peer_url(self) -> str:
        return self.CONSOLE_PEER_URL or f"http://127.0.0.1:{LOCAL_PORTS[f'capstore-{self.peer_mode}']}"

    def admin_token(self) -> str:
        return self.ADMIN_TOKEN.get_secret_value() if self.ADMIN_TOKEN else ""


def fault_admin_check(settings: ServiceSettings) -> Iterable[CheckMessage]:
    """CS.E001/CS.W001: fault injection in production only when asked for, and only with a strong token."""
    enabled: Any = getattr(settings, "ENABLE_FAULT_ADMIN", None)
    token: Any = getattr(settings, "ADMIN_TOKEN", None)
    if not enabled:
        return
    plain = token.get_secret_value() if isinstance(token, SecretStr) else ""
    reason = "is not set" if not plain else is_weak_secret(plain)
    if reason:
        yield CheckMessage(
            "CS.E001", CheckLevel.ERROR,
            f"ENABLE_FAULT_ADMIN is on but ADMIN_TOKEN {reason}; anyone could partition the store.",
            'set ADMIN_TOKEN (or ADMIN_TOKEN_FILE) to `python -c "import secrets; print(secrets.token_hex(32))"`, '
            "or turn ENABLE_FAULT_ADMIN off.",
        )  # fmt: skip
    yield CheckMessage(
        "CS.W001", CheckLevel.WARNING,
        "ENABLE_FAULT_ADMIN is on: /admin/faults can partition this app from its Redis nodes.",
        "turn it off outside demo and chaos-testing environments.",
    )  # fmt: skip
