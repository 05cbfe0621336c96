"""The web app's settings: the only place in dot2archimate that reads the environment.

Names follow the deployment guide (`SECRET_KEY`, `PORT` 5000, `GUNICORN_WORKERS`, `GUNICORN_THREADS`…);
servicekit's own names work too (`WORKERS` for `GUNICORN_WORKERS`, `MAX_REQUEST_SIZE_MB`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from servicekit import LOCAL_PORTS, CheckLevel, CheckMessage, ServiceSettings

from .layout import ENGINES, LayoutOptions
from .limits import Limits

__all__ = ["Settings", "web_checks"]

#: room for multipart framing and form fields on top of the upload itself
_MULTIPART_SLACK_MB = 1.0


class Settings(ServiceSettings):
    service_name = "dot2archimate"

    PORT: int = Field(default=LOCAL_PORTS["dot2archimate"], ge=1, le=65535)
    SECURITY_HEADERS_PRESET: Literal["api", "html"] = "html"
    WORKERS: int = Field(default=2, ge=1, le=64, validation_alias=AliasChoices("WORKERS", "GUNICORN_WORKERS"))
    GUNICORN_THREADS: int = Field(default=2, ge=1, le=64, description="conversions run at once per worker")

    DATA_DIR: Path = Path(".data/dot2archimate")
    SESSION_BACKEND: Literal["file", "redis"] = "file"
    SESSION_TTL: int = Field(default=3600, ge=60, description="seconds a session lives after its last use")
    SESSION_COOKIE_NAME: str = Field(default="d2a_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    SESSION_COOKIE_SECURE: bool | None = Field(default=None, description="default: on in production")
    SESSION_MAX_RESULTS: int = Field(default=5, ge=1, le=100, description="conversions kept per session")

    MAX_UPLOAD_MB: float = Field(default=10.0, gt=0)
    LEGAL_SETTINGS_FILE: Path | None = None
    RULES_FILE: Path | None = None

    MAX_NODES: int = Field(default=5000, ge=1)
    MAX_EDGES: int = Field(default=20000, ge=1)
    LAYOUT_ENGINE: str = "dot"
    LAYOUT_TIMEOUT: float = Field(default=10.0, gt=0, description="seconds per Graphviz run")
    LAYOUT_MEMORY_MB: int = Field(default=512, ge=64)
    MAX_VIEW_NODES: int = Field(default=150, ge=1)
    PREVIEW_MAX_NODES: int = Field(default=400, ge=0, description="input graphs larger than this get no preview")
    CONVERT_QUEUE_TIMEOUT: float = Field(default=30.0, gt=0, description="wait for a free slot before 503")
    CONVERT_TIMEOUT: float = Field(
        default=60.0, gt=0, description="total seconds per conversion (parse, map, layout, write, previews); 422 after"
    )

    @model_validator(mode="after")
    def _derived(self) -> Settings:
        if self.LAYOUT_ENGINE not in ENGINES:
            raise ValueError(f"LAYOUT_ENGINE must be one of {sorted(ENGINES)}")
        # MAX_UPLOAD_MB drives servicekit's body limit unless MAX_REQUEST_SIZE_MB is given itself.
        if "MAX_REQUEST_SIZE_MB" not in self.model_fields_set:
            self.MAX_REQUEST_SIZE_MB = self.MAX_UPLOAD_MB + _MULTIPART_SLACK_MB
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.MAX_UPLOAD_MB * 1024 * 1024)

    @property
    def cookie_secure(self) -> bool:
        return self.PRODUCTION_MODE if self.SESSION_COOKIE_SECURE is None else self.SESSION_COOKIE_SECURE

    def limits(self) -> Limits:
        return Limits(max_bytes=self.max_upload_bytes, max_nodes=self.MAX_NODES, max_edges=self.MAX_EDGES)

    def layout(self) -> LayoutOptions:
        return LayoutOptions(
            engine=self.LAYOUT_ENGINE,
            timeout_s=self.LAYOUT_TIMEOUT,
            memory_mb=self.LAYOUT_MEMORY_MB,
            workers=1,  # one conversion per thread; GUNICORN_THREADS bounds the total
        )


def web_checks(settings: ServiceSettings) -> Iterable[CheckMessage]:
    """D2A.* deploy checks: session storage and the operator's legal texts."""
    backend = getattr(settings, "SESSION_BACKEND", "file")
    if backend == "redis" and not settings.REDIS_URL:
        yield CheckMessage(
            "D2A.E001", CheckLevel.ERROR, "SESSION_BACKEND=redis but REDIS_URL is not set.",
            "set REDIS_URL=redis://host:6379/0, or SESSION_BACKEND=file for a single instance.",
        )  # fmt: skip
    if backend == "file" and settings.WORKERS > 1 and settings.PRODUCTION_MODE:
        yield CheckMessage(
            "D2A.W001", CheckLevel.WARNING, "file sessions are local to this machine.",
            "use SESSION_BACKEND=redis when running several instances behind a load balancer.",
        )  # fmt: skip
    legal = getattr(settings, "LEGAL_SETTINGS_FILE", None)
    if legal is None:
        yield CheckMessage(
            "D2A.W002", CheckLevel.WARNING, "LEGAL_SETTINGS_FILE is not set; imprint and privacy pages are empty.",
            "copy deploy/legal_settings.example.yaml, fill in the operator's texts, set LEGAL_SETTINGS_FILE.",
        )  # fmt: skip
    elif not Path(legal).is_file():
        yield CheckMessage(
            "D2A.E002", CheckLevel.ERROR, f"LEGAL_SETTINGS_FILE {str(legal)!r} does not exist.",
            "point LEGAL_SETTINGS_FILE at a readable legal_settings.yaml.",
        )  # fmt: skip
    rules = getattr(settings, "RULES_FILE", None)
    if rules is not None and not Path(rules).is_file():
        yield CheckMessage(
            "D2A.E003", CheckLevel.ERROR, f"RULES_FILE {str(rules)!r} does not exist.",
            "point RULES_FILE at a rules YAML (check it with `dot2archimate rules check FILE`).",
        )  # fmt: skip
