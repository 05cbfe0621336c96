"""Deploy checks with stable IDs, in the spirit of Django's `check --deploy`.

In production a service refuses to start while any ERROR check fails; `<service> check --deploy`
prints every message. Services add their own checks by passing extra `DeployCheck`s.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

from servicekit.settings import ServiceSettings

__all__ = [
    "CheckLevel",
    "CheckMessage",
    "DeployCheck",
    "UnsafeSettingsError",
    "enforce_deploy_checks",
    "is_weak_secret",
    "run_deploy_checks",
    "secret_checks",
]


class CheckLevel(StrEnum):
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class CheckMessage:
    id: str
    level: CheckLevel
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.id} [{self.level}] {self.message} Fix: {self.fix}"


DeployCheck = Callable[[ServiceSettings], Iterable[CheckMessage]]

# Placeholder secrets seen in the seeds' guides and in common tutorials.
_KNOWN_DEFAULT_SECRETS = {
    "secret", "secret-key", "secret_key", "changeme", "change-me", "changethis", "dev", "development",
    "your-secret-key", "your-secret-key-here", "your_secret_key_here", "supersecret", "password",
    "default", "test", "insecure", "django-insecure", "generated hex string", "none", "null",
}  # fmt: skip
_MIN_SECRET_LENGTH = 32
_MIN_SECRET_ENTROPY_BITS = 128


def is_weak_secret(value: str) -> str | None:
    """Why `value` is unfit as a production secret, or None when it is fine."""
    if value.strip().lower() in _KNOWN_DEFAULT_SECRETS or value.lower().startswith("django-insecure"):
        return "is a well-known placeholder"
    if len(value) < _MIN_SECRET_LENGTH:
        return f"is {len(value)} characters long (at least {_MIN_SECRET_LENGTH} needed)"
    counts = Counter(value)
    per_char = -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())
    # Character statistics miss periodic patterns ("0123456789" * 4); compression catches them.
    patterned = len(zlib.compress(value.encode())) < 0.75 * len(value)
    if per_char * len(value) < _MIN_SECRET_ENTROPY_BITS or len(counts) < 10 or patterned:
        return "has too little entropy (repeated or patterned characters)"
    return None


_GENERATE = 'generate one with `python -c "import secrets; print(secrets.token_hex(32))"`'


def secret_checks(field: str, check_id: str) -> DeployCheck:
    """A reusable check for any secret field (services use it for JWT_SECRET_KEY and the like)."""

    def check(settings: ServiceSettings) -> Iterable[CheckMessage]:
        value = getattr(settings, field, None)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not plain:
            yield CheckMessage(
                check_id, CheckLevel.ERROR, f"{field} is not set.", f"set {field} or {field}_FILE; {_GENERATE}."
            )
            return
        reason = is_weak_secret(plain)
        if reason:
            yield CheckMessage(check_id, CheckLevel.ERROR, f"{field} {reason}.", f"set a random {field}; {_GENERATE}.")

    return check


def _origins(settings: ServiceSettings) -> Iterable[CheckMessage]:
    if "*" in settings.ALLOWED_ORIGINS:
        yield CheckMessage(
            "SK.E002",
            CheckLevel.ERROR,
            "ALLOWED_ORIGINS contains '*', so any web site may call this service from a browser.",
            "list the exact origins, e.g. ALLOWED_ORIGINS=https://maps.example.org,https://admin.example.org.",
        )


def _hosts(settings: ServiceSettings) -> Iterable[CheckMessage]:
    if not settings.ALLOWED_HOSTS:
        yield CheckMessage(
            "SK.E003",
            CheckLevel.ERROR,
            "ALLOWED_HOSTS is empty, so no request would be accepted (or, worse, any Host header trusted).",
            "set ALLOWED_HOSTS to the public host names, e.g. ALLOWED_HOSTS=maps.example.org.",
        )
    elif "*" in settings.ALLOWED_HOSTS:
        yield CheckMessage(
            "SK.E004",
            CheckLevel.ERROR,
            "ALLOWED_HOSTS contains '*', which lets Host-header attacks through.",
            "list the public host names instead of '*'.",
        )


def _debug(settings: ServiceSettings) -> Iterable[CheckMessage]:
    if settings.DEBUG:
        yield CheckMessage(
            "SK.E005",
            CheckLevel.ERROR,
            "DEBUG is on; tracebacks and internals would be shown to clients.",
            "set DEBUG=false in production.",
        )


def _credentials_with_wildcard(settings: ServiceSettings) -> Iterable[CheckMessage]:
    if settings.CORS_ALLOW_CREDENTIALS and not settings.ALLOWED_ORIGINS:
        yield CheckMessage(
            "SK.W001",
            CheckLevel.WARNING,
            "CORS_ALLOW_CREDENTIALS is on but ALLOWED_ORIGINS is empty, so it has no effect.",
            "list the origins that may send credentials, or turn CORS_ALLOW_CREDENTIALS off.",
        )


BASE_CHECKS: tuple[DeployCheck, ...] = (
    secret_checks("SECRET_KEY", "SK.E001"),
    _origins,
    _hosts,
    _debug,
    _credentials_with_wildcard,
)


def run_deploy_checks(settings: ServiceSettings, extra: Sequence[DeployCheck] = ()) -> list[CheckMessage]:
    """Every message from the base checks and the service's own, in a stable order."""
    return [message for check in (*BASE_CHECKS, *extra) for message in check(settings)]


class UnsafeSettingsError(RuntimeError):
    """Production start refused; `messages` holds every failing check."""

    def __init__(self, messages: Sequence[CheckMessage]) -> None:
        self.messages = list(messages)
        lines = "\n  ".join(str(message) for message in self.messages)
        super().__init__(f"refusing to start in production with unsafe settings:\n  {lines}")


def enforce_deploy_checks(settings: ServiceSettings, extra: Sequence[DeployCheck] = ()) -> list[CheckMessage]:
    """In PRODUCTION_MODE raise UnsafeSettingsError on any ERROR; return the messages otherwise."""
    messages = run_deploy_checks(settings, extra)
    errors = [message for message in messages if message.level is CheckLevel.ERROR]
    if settings.PRODUCTION_MODE and errors:
        raise UnsafeSettingsError(errors)
    return messages
