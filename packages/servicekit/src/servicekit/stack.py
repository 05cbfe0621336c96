"""The production envelope around any ASGI app (FastAPI, Starlette, Django's ASGI handler).

The order is declared once, as data (`MIDDLEWARE_ORDER`, outermost first); each layer's factory
reads what it needs from one `StackContext` and may return None when the settings turn it off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from servicekit.asgi import ASGIApp
from servicekit.clientip import TrustedProxies
from servicekit.health import Health
from servicekit.metrics import ServiceMetrics
from servicekit.middleware import (
    AccessLogMiddleware,
    BodySizeLimitMiddleware,
    CORSMiddleware,
    MetricsMiddleware,
    ProbesMiddleware,
    RateLimiter,
    RateLimitMiddleware,
    RequestIdMiddleware,
    RouteResolver,
    SecurityHeadersMiddleware,
    TrustedHostsMiddleware,
    starlette_route_template,
)
from servicekit.middleware.probes import ExtraProbe
from servicekit.settings import ServiceSettings

__all__ = ["MIDDLEWARE_ORDER", "StackContext", "wrap_app"]


@dataclass
class StackContext:
    settings: ServiceSettings
    health: Health
    metrics: ServiceMetrics | None
    resolve_route: RouteResolver = starlette_route_template
    security_header_overrides: Mapping[str, str | None] = field(default_factory=dict)
    extra_probes: Mapping[str, ExtraProbe] = field(default_factory=dict)
    rate_limiter: RateLimiter | None = None

    def __post_init__(self) -> None:
        self.proxies = TrustedProxies(self.settings.TRUSTED_PROXIES)


Layer = Callable[[ASGIApp, StackContext], ASGIApp | None]


def _probes(app: ASGIApp, ctx: StackContext) -> ASGIApp:
    return ProbesMiddleware(app, health=ctx.health, metrics=ctx.metrics, extra_probes=ctx.extra_probes)


def _security_headers(app: ASGIApp, ctx: StackContext) -> ASGIApp | None:
    if not ctx.settings.ENABLE_SECURITY_HEADERS:
        return None
    return SecurityHeadersMiddleware(
        app, preset=ctx.settings.SECURITY_HEADERS_PRESET, overrides=ctx.security_header_overrides
    )


def _request_id(app: ASGIApp, ctx: StackContext) -> ASGIApp:
    return RequestIdMiddleware(app)


def _access_log(app: ASGIApp, ctx: StackContext) -> ASGIApp | None:
    return AccessLogMiddleware(app, proxies=ctx.proxies) if ctx.settings.ENABLE_REQUEST_LOGGING else None


def _trusted_hosts(app: ASGIApp, ctx: StackContext) -> ASGIApp:
    return TrustedHostsMiddleware(app, allowed_hosts=ctx.settings.ALLOWED_HOSTS)


def _cors(app: ASGIApp, ctx: StackContext) -> ASGIApp | None:
    if not ctx.settings.ALLOWED_ORIGINS:
        return None
    return CORSMiddleware(
        app, allowed_origins=ctx.settings.ALLOWED_ORIGINS, allow_credentials=ctx.settings.CORS_ALLOW_CREDENTIALS
    )


def _body_limit(app: ASGIApp, ctx: StackContext) -> ASGIApp:
    return BodySizeLimitMiddleware(app, max_bytes=ctx.settings.max_request_bytes)


def _rate_limit(app: ASGIApp, ctx: StackContext) -> ASGIApp | None:
    if not ctx.settings.RATE_LIMIT_ENABLED:
        return None
    limiter = ctx.rate_limiter or RateLimiter(ctx.settings.rate_limits, ctx.settings.rate_limit_storage_url)
    return RateLimitMiddleware(
        app,
        limiter=limiter,
        proxies=ctx.proxies,
        metrics=ctx.metrics,
        ietf_headers=ctx.settings.RATE_LIMIT_IETF_HEADERS,
    )


def _metrics(app: ASGIApp, ctx: StackContext) -> ASGIApp | None:
    if ctx.metrics is None:
        return None
    return MetricsMiddleware(app, metrics=ctx.metrics, resolve_route=ctx.resolve_route)


MIDDLEWARE_ORDER: tuple[tuple[str, Layer], ...] = (
    ("probes", _probes),
    ("security_headers", _security_headers),
    ("request_id", _request_id),
    ("access_log", _access_log),
    ("trusted_hosts", _trusted_hosts),
    ("cors", _cors),
    ("body_limit", _body_limit),
    ("rate_limit", _rate_limit),
    ("metrics", _metrics),
)
"""Outermost first. Probes precede host checks and limits so orchestrator probes by pod IP pass."""


def wrap_app(app: ASGIApp, context: StackContext) -> ASGIApp:
    """Wrap `app` in every enabled layer of MIDDLEWARE_ORDER."""
    wrapped = app
    for _, layer in reversed(MIDDLEWARE_ORDER):
        wrapped = layer(wrapped, context) or wrapped
    return wrapped
