"""The ASGI app: Django's handler for the API inside servicekit's envelope.

`create_app(settings)` configures Django once per process, disconnects Django's per-request
connection housekeeping (requests use the psycopg pool, never the ORM), opens the pool in the
ASGI lifespan and hands the views their Runtime through the scope.
"""

from __future__ import annotations

import logging

from servicekit import Health, envelope, metrics_for
from servicekit.asgi import ASGIApp, Receive, Scope, Send
from servicekit.django import django_route_template, with_lifespan

from indoormaps import __version__
from indoormaps.api.runtime import SCOPE_KEY, DomainMetrics, Runtime
from indoormaps.config import Settings, indoormaps_checks
from indoormaps.django_settings import configure_django

__all__ = ["asgi", "create_app"]


def _quiet_django_db_signals() -> None:
    # These sync receivers run in a worker thread on every request start and end; the views never
    # use Django's connections (the psycopg pool serves them), so that is two thread hops for nothing.
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(close_old_connections)
    signals.request_started.disconnect(reset_queries)
    signals.request_finished.disconnect(close_old_connections)
    # Django logs every 4xx as a warning; servicekit's access log already records them.
    logging.getLogger("django.request").setLevel(logging.ERROR)


def create_app(settings: Settings) -> ASGIApp:
    configure_django(settings.django_settings())
    from django.core.asgi import get_asgi_application

    _quiet_django_db_signals()
    metrics = metrics_for(settings)
    runtime = Runtime(settings, DomainMetrics(metrics) if metrics is not None else None)
    django_app = get_asgi_application()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[SCOPE_KEY] = runtime
        await django_app(scope, receive, send)

    served = with_lifespan(app, on_startup=[runtime.open], on_shutdown=[runtime.close])
    health = Health("indoormaps", version=__version__, checks=runtime.readiness_checks())
    return envelope(
        served,
        settings,
        health=health,
        metrics=metrics,
        extra_checks=[indoormaps_checks],
        resolve_route=django_route_template,
        # The seed's load-balancer probe: liveness only, answered before host checks and limits.
        extra_probes={"/api/health/": lambda: (200, {"ok": True})},
    )


def asgi() -> ASGIApp:
    """Zero-argument factory for uvicorn/gunicorn (`indoormaps serve`)."""
    return create_app(Settings())
