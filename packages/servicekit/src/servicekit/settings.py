"""The settings base every service extends (pydantic-settings).

Names are the seeds' unprefixed environment variables (`SECRET_KEY`, `ALLOWED_ORIGINS`, …).
Comma-separated lists are accepted as well as JSON lists, `.env` files are read, and every secret
field (typed `SecretStr`) can also come from `<NAME>_FILE` (Docker and Kubernetes secrets).
This module is the only place in servicekit that reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = ["CommaList", "SecretFileError", "ServiceSettings"]

CommaList = Annotated[list[str], NoDecode]
"""A list read from `a,b,c` (or a JSON list) in the environment."""


class SecretFileError(ValueError):
    """A `<NAME>_FILE` secret could not be used; the message says which and why."""


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class _SecretFilesSource(PydanticBaseSettingsSource):
    """Reads `NAME_FILE` for every `SecretStr` field; refuses when both NAME and NAME_FILE are set."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ does the work

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            if not _is_secret(field):
                continue
            env_name = (field.alias or name).upper()
            file_var = f"{env_name}_FILE"
            path = self._environ.get(file_var)
            if not path:
                continue
            if self._environ.get(env_name):
                raise SecretFileError(f"both {env_name} and {file_var} are set; set only one of them")
            try:
                content = Path(path).read_text(encoding="utf-8")
            except OSError as error:
                raise SecretFileError(
                    f"{file_var} points at {path!r}, which cannot be read: {error.strerror}"
                ) from None
            values[name] = content.rstrip("\r\n")
        return values


def _is_secret(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is SecretStr or (
        getattr(annotation, "__args__", None) is not None and SecretStr in annotation.__args__  # type: ignore[union-attr]
    )


class ServiceSettings(BaseSettings):
    """Settings shared by every Flotilla service. Subclass it, add fields, set `service_name`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    service_name: ClassVar[str] = "service"
    """Metrics namespace and log field; each service overrides it."""

    SECRET_KEY: SecretStr | None = None
    DEBUG: bool = False
    PRODUCTION_MODE: bool = False
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["auto", "json", "console"] = "auto"

    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=1, le=65535)
    WORKERS: int = Field(default=2, ge=1, le=64)
    GRACEFUL_TIMEOUT: float = Field(default=20.0, gt=0)
    MAX_REQUESTS: int = Field(default=10000, ge=0)
    MAX_REQUESTS_JITTER: int = Field(default=1000, ge=0)

    ALLOWED_ORIGINS: CommaList = Field(default_factory=list)
    ALLOWED_HOSTS: CommaList = Field(default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"])
    CORS_ALLOW_CREDENTIALS: bool = False
    TRUSTED_PROXIES: CommaList = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    ENABLE_SECURITY_HEADERS: bool = True
    SECURITY_HEADERS_PRESET: Literal["api", "html"] = "api"
    ENABLE_REQUEST_LOGGING: bool = True
    ENABLE_METRICS: bool = True
    MAX_REQUEST_SIZE_MB: float = Field(default=10.0, gt=0)

    RATE_LIMIT_ENABLED: bool = False
    RATE_LIMIT_REQUESTS: int = Field(default=1000, ge=1)
    RATE_LIMIT_WINDOW: int = Field(default=3600, ge=1, description="seconds")
    RATE_LIMIT_PER_MINUTE: int | None = Field(default=None, ge=1)
    RATE_LIMIT_STORAGE_URL: str | None = None
    RATE_LIMIT_IETF_HEADERS: bool = False

    REDIS_URL: str | None = None
    PROMETHEUS_MULTIPROC_DIR: Path | None = None

    @field_validator("ALLOWED_ORIGINS", "ALLOWED_HOSTS", "TRUSTED_PROXIES", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_commas(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init kwargs win, then NAME_FILE secrets, then the environment, then .env.
        return (init_settings, _SecretFilesSource(settings_cls, dict(os.environ)), env_settings, dotenv_settings)

    @property
    def json_logs(self) -> bool:
        """LOG_FORMAT=auto means JSON in production and console in development."""
        return self.LOG_FORMAT == "json" or (self.LOG_FORMAT == "auto" and self.PRODUCTION_MODE)

    @property
    def max_request_bytes(self) -> int:
        return int(self.MAX_REQUEST_SIZE_MB * 1024 * 1024)

    @property
    def rate_limits(self) -> list[str]:
        """Every configured limit in the `limits` library's notation, e.g. `["1000/3600 second"]`."""
        limits = [f"{self.RATE_LIMIT_REQUESTS}/{self.RATE_LIMIT_WINDOW} second"]
        if self.RATE_LIMIT_PER_MINUTE:
            limits.append(f"{self.RATE_LIMIT_PER_MINUTE}/minute")
        return limits

    @property
    def rate_limit_storage_url(self) -> str:
        """Shared Redis storage when a Redis URL is configured, else this process's memory."""
        url = self.RATE_LIMIT_STORAGE_URL or self.REDIS_URL
        if not url:
            return "memory://"
        if url.startswith(("redis://", "rediss://")):
            return "async+" + url
        return url

    def secret_values(self) -> list[str]:
        """The plain values of every secret field: the log redactor masks them wherever they appear."""
        values = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        return values
