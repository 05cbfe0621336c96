"""SpotOn settings: the seed guide's variables on top of servicekit's shared ones.

The only module of the service that reads the environment (through pydantic-settings).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from servicekit import LOCAL_PORTS, CheckLevel, CheckMessage, CommaList, DeployCheck, ServiceSettings, secret_checks

__all__ = ["DEPLOY_CHECKS", "Settings"]


class Settings(ServiceSettings):
    service_name = "spoton"

    APP_NAME: str = "SpotOn"
    PORT: int = Field(default=LOCAL_PORTS["spoton"], ge=1, le=65535)
    API_V1_PREFIX: str = "/api/v1"
    # One process by default: jobs and their live streams live in the process that started them.
    WORKERS: int = Field(default=1, ge=1, le=64)

    # Endpoint groups (the seed's toggles).
    ENABLE_ANALYTICS_ENDPOINTS: bool = True
    ENABLE_EXPORT_ENDPOINTS: bool = True
    ENABLE_AUTH_ENDPOINTS: bool = True
    ENABLE_ADMIN_ENDPOINTS: bool = False

    # Auth. Tokens signed with a key in JWT_PREVIOUS_SECRET_KEYS stay valid for the grace period
    # after a rotation (counted from their issue time), then are refused.
    JWT_SECRET_KEY: SecretStr | None = None
    JWT_PREVIOUS_SECRET_KEYS: CommaList = Field(default_factory=list)
    JWT_ROTATION_GRACE_MINUTES: int = Field(default=60, ge=0)
    JWT_ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=60, ge=1, le=24 * 60)
    JWT_ISSUER: str = "spoton"
    ENCRYPTION_SECRET_KEY: SecretStr | None = None

    # Storage: SQLite file by default; postgresql://… (asyncpg) in production.
    DATA_DIR: Path = Path(".data/spoton")
    DATABASE_URL: str = "sqlite:///.data/spoton/spoton.db"
    # Kept out of the URL so it can come from a secret file (DATABASE_PASSWORD_FILE).
    DATABASE_PASSWORD: SecretStr | None = None
    DATABASE_AUTO_MIGRATE: bool = True
    MEDIA_ROOT: Path | None = None  # local videos tasks may read; None = DATA_DIR/media

    # Models (all offline; weights only from WEIGHTS_DIR).
    DETECTOR_TYPE: str = "hog"
    TRACKER_TYPE: str = "bytetrack"
    REID_MODEL_TYPE: str = "color_stripes"
    WEIGHTS_DIR: Path = Path("weights")

    # Processing jobs (in-process thread pool) and live streaming.
    MAX_CONCURRENT_TASKS: int = Field(default=2, ge=1, le=32)
    WS_QUEUE_SIZE: int = Field(default=32, ge=1, le=10_000)
    EXPORT_TTL_MINUTES: int = Field(default=60, ge=1)

    # Alerts on the system endpoints.
    ALERT_CPU_PERCENT: float = Field(default=90.0, gt=0, le=100)
    ALERT_MEMORY_PERCENT: float = Field(default=85.0, gt=0, le=100)

    # S3-compatible object storage (optional).
    S3_ENDPOINT_URL: str | None = None
    S3_BUCKET_NAME: str | None = None
    AWS_ACCESS_KEY_ID: str | None = None
    AWS_SECRET_ACCESS_KEY: SecretStr | None = None

    # Tuning of the weights-based detectors (ssdlite, fasterrcnn); HOG keeps its calibrated defaults.
    # 0.3 keeps the low-score boxes ByteTrack's second association stage uses.
    DETECTOR_SCORE_THRESHOLD: float = Field(default=0.3, ge=0.0, le=1.0)
    DETECTOR_NMS_IOU: float = Field(default=0.5, gt=0.0, le=1.0)
    DETECTOR_THREADS: int = Field(default=1, ge=1, le=64)  # intra-op threads per camera's detector
    # Detect on every n-th frame per camera, the tracker predicting in between: 2 halves the detector's
    # cost; beyond that, at 10 FPS, new tracks (born without velocity) are confirmed late.
    DETECT_EVERY_N_FRAMES: int = Field(default=1, ge=1, le=30)

    # Job runner: in this process (default) or Dramatiq workers (`spoton worker`) on a Redis broker.
    JOB_BACKEND: Literal["inprocess", "dramatiq"] = "inprocess"
    JOB_BROKER_URL: str | None = None  # the Dramatiq broker; REDIS_URL when unset
    JOB_QUEUE_NAME: str = "spoton-tasks"
    # A runner refreshes its tasks' lease every JOB_HEARTBEAT_SECONDS; a task whose lease is older
    # than JOB_LEASE_SECONDS is failed (its worker died) instead of staying "running" forever.
    JOB_HEARTBEAT_SECONDS: float = Field(default=5.0, gt=0, le=300)
    JOB_LEASE_SECONDS: float = Field(default=30.0, gt=0, le=3600)
    # Live state (progress, latest tracks, stop requests) lives in REDIS_URL when set; keys expire.
    LIVE_STATE_TTL_SECONDS: int = Field(default=3600, ge=60)

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> Settings:
        if self.JOB_LEASE_SECONDS < 2 * self.JOB_HEARTBEAT_SECONDS:
            raise ValueError("JOB_LEASE_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS")
        return self

    @property
    def job_broker_url(self) -> str | None:
        return self.JOB_BROKER_URL or self.REDIS_URL

    @field_validator("API_V1_PREFIX")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.startswith("/") or value.endswith("/"):
            raise ValueError("API_V1_PREFIX must start with '/' and not end with '/', e.g. /api/v1")
        return value

    @field_validator("DETECTOR_TYPE", "TRACKER_TYPE", "REID_MODEL_TYPE")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def media_root(self) -> Path:
        return self.MEDIA_ROOT or self.DATA_DIR / "media"

    @property
    def database_url(self) -> str:
        """DATABASE_URL with DATABASE_PASSWORD filled in when given separately."""
        if self.DATABASE_PASSWORD is None or not self.DATABASE_PASSWORD.get_secret_value():
            return self.DATABASE_URL
        from sqlalchemy.engine import make_url

        url = make_url(self.DATABASE_URL).set(password=self.DATABASE_PASSWORD.get_secret_value())
        return url.render_as_string(hide_password=False)

    @property
    def database_kind(self) -> Literal["sqlite", "postgresql"]:
        return "postgresql" if self.DATABASE_URL.startswith(("postgres://", "postgresql")) else "sqlite"


def _sqlite_in_production(settings: ServiceSettings) -> Iterable[CheckMessage]:
    assert isinstance(settings, Settings)
    if settings.database_kind == "sqlite":
        yield CheckMessage(
            "SPOT.W001",
            CheckLevel.WARNING,
            "DATABASE_URL points at SQLite; one process only, no replicas.",
            "set DATABASE_URL=postgresql://user:password@host:5432/spoton for production.",
        )


def _models_available(settings: ServiceSettings) -> Iterable[CheckMessage]:
    from spoton.errors import SpotOnError
    from spoton.pipeline.models import check_models

    assert isinstance(settings, Settings)
    try:
        check_models(settings)
    except SpotOnError as error:
        yield CheckMessage("SPOT.E003", CheckLevel.ERROR, str(error), "fix DETECTOR_TYPE/TRACKER_TYPE/WEIGHTS_DIR.")


def _job_backend(settings: ServiceSettings) -> Iterable[CheckMessage]:
    assert isinstance(settings, Settings)
    if settings.JOB_BACKEND == "dramatiq" and not settings.job_broker_url:
        yield CheckMessage(
            "SPOT.E004",
            CheckLevel.ERROR,
            "JOB_BACKEND=dramatiq needs a Redis broker.",
            "set REDIS_URL (or JOB_BROKER_URL) to redis://host:6379/0, or JOB_BACKEND=inprocess.",
        )
    if settings.WORKERS > 1 and not settings.REDIS_URL:
        yield CheckMessage(
            "SPOT.W002",
            CheckLevel.WARNING,
            "WORKERS > 1 without REDIS_URL: each process sees only its own jobs' progress and live frames.",
            "set REDIS_URL so every process shares live state, or WORKERS=1.",
        )


DEPLOY_CHECKS: tuple[DeployCheck, ...] = (
    secret_checks("JWT_SECRET_KEY", "SPOT.E001"),
    secret_checks("ENCRYPTION_SECRET_KEY", "SPOT.E002"),
    _sqlite_in_production,
    _models_available,
    _job_backend,
)
"""SpotOn's own deploy checks, run with servicekit's at start-up and by `spoton check --deploy`."""
