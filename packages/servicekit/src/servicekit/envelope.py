"""One call that puts a service's ASGI app inside the production envelope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from servicekit.asgi import ASGIApp
from servicekit.checks import DeployCheck, enforce_deploy_checks
from servicekit.health import Health
from servicekit.logs import configure_logging
from servicekit.metrics import ServiceMetrics
from servicekit.middleware import RateLimiter, RouteResolver, starlette_route_template
from servicekit.middleware.probes import ExtraProbe
from servicekit.settings import ServiceSettings
from servicekit.stack import StackContext, wrap_app

__all__ = ["envelope", "metrics_for"]


def metrics_for(settings: ServiceSettings, namespace: str | None = None) -> ServiceMetrics | None:
    """The service's metrics registry, or None when ENABLE_METRICS is off."""
    if not settings.ENABLE_METRICS:
        return None
    return ServiceMetrics(namespace or settings.service_name, multiprocess_dir=settings.PROMETHEUS_MULTIPROC_DIR)


def envelope(
    app: ASGIApp,
    settings: ServiceSettings,
    *,
    health: Health,
    metrics: ServiceMetrics | None,
    extra_checks: Sequence[DeployCheck] = (),
    resolve_route: RouteResolver = starlette_route_template,
    security_header_overrides: Mapping[str, str | None] | None = None,
    extra_probes: Mapping[str, ExtraProbe] | None = None,
    rate_limiter: RateLimiter | None = None,
) -> ASGIApp:
    """Refuse unsafe production settings, configure logs, and wrap `app` in the middleware stack."""
    enforce_deploy_checks(settings, extra_checks)
    configure_logging(
        level=settings.LOG_LEVEL,
        json=settings.json_logs,
        service=settings.service_name,
        secret_values=settings.secret_values(),
    )
    context = StackContext(
        settings=settings,
        health=health,
        metrics=metrics,
        resolve_route=resolve_route,
        security_header_overrides=dict(security_header_overrides or {}),
        extra_probes=dict(extra_probes or {}),
        rate_limiter=rate_limiter,
    )
    return wrap_app(app, context)
