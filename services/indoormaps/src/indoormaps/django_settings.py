"""A minimal, self-contained Django settings dict built from arguments (no environment reads).

The service's Settings object calls `build_django_settings(...)` and hands the result to
`configure_django`; the CLI and the tests do the same, so there is one way to configure Django.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from indoormaps.errors import InvalidParameter

__all__ = ["build_django_settings", "configure_django", "database_settings"]

_SCHEMES = {"postgres", "postgresql", "postgis", "postgresql+psycopg"}


def database_settings(database_url: str, *, connect_timeout: int = 5, conn_max_age: int = 0) -> dict[str, Any]:
    """Translate a libpq-style URL into Django's DATABASES["default"] (PostGIS engine).

    No `options=-c ...` startup parameter: PgBouncer in transaction mode rejects it, so statement
    timeouts are set per transaction (`SET LOCAL`) and as role defaults instead.
    """
    parts = urlsplit(database_url)
    if parts.scheme not in _SCHEMES:
        raise InvalidParameter("database_url", f"expected a postgresql:// URL, got scheme {parts.scheme!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise InvalidParameter("database_url", "the URL names no database")
    options: dict[str, Any] = {"connect_timeout": connect_timeout}
    for key, values in parse_qs(parts.query).items():
        if key == "options":
            raise InvalidParameter("database_url", "the libpq 'options' parameter breaks PgBouncer; drop it")
        options[key] = values[-1]
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # Under ASGI every request may run in another thread: persistent connections would leak.
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": False,
        "DISABLE_SERVER_SIDE_CURSORS": True,  # PgBouncer transaction mode breaks WITH HOLD cursors
        "OPTIONS": options,
    }


def build_django_settings(
    database_url: str,
    debug: bool = False,
    *,
    secret_key: str | None = None,
    allowed_hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    connect_timeout: int = 5,
    conn_max_age: int = 0,
    gdal_library_path: str | None = None,
    geos_library_path: str | None = None,
    extra_installed_apps: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything Django needs for models, migrations and the ORM; the lead adds the HTTP bits."""
    settings: dict[str, Any] = {
        "DEBUG": debug,
        "SECRET_KEY": secret_key or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": list(allowed_hosts),
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "django.contrib.postgres",
            "django.contrib.gis",
            "rest_framework",
            "indoormaps.apps.IndoorMapsConfig",
            *extra_installed_apps,
        ],
        "DATABASES": {
            "default": database_settings(database_url, connect_timeout=connect_timeout, conn_max_age=conn_max_age)
        },
        # The HTTP API (indoormaps.app); no Django middleware: servicekit's ASGI stack wraps Django.
        "ROOT_URLCONF": "indoormaps.api.urls",
        "MIDDLEWARE": [],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "MIGRATION_MODULES": {},
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
        },
    }
    if gdal_library_path:
        settings["GDAL_LIBRARY_PATH"] = gdal_library_path
    if geos_library_path:
        settings["GEOS_LIBRARY_PATH"] = geos_library_path
    return settings


def configure_django(settings: dict[str, Any]) -> None:
    """Configure and set up Django once per process; a second call with other settings is an error."""
    import django
    from django.conf import settings as django_settings

    if django_settings.configured:
        current = django_settings.DATABASES["default"]
        wanted = settings["DATABASES"]["default"]
        if (current["NAME"], current["HOST"], current["PORT"]) != (
            wanted["NAME"],
            wanted["HOST"],
            wanted["PORT"],
        ):
            raise RuntimeError("Django is already configured for another database in this process")
        return
    django_settings.configure(**settings)
    django.setup()
