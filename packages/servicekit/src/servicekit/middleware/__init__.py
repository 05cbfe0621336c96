"""Pure-ASGI middleware: each module one concern; `servicekit.stack` declares their order."""

from servicekit.middleware.access_log import AccessLogMiddleware, annotate_access_line
from servicekit.middleware.body_limit import BodySizeLimitMiddleware
from servicekit.middleware.cors import CORSMiddleware
from servicekit.middleware.metrics import (
    UNMATCHED,
    MetricsMiddleware,
    RouteResolver,
    starlette_route_template,
)
from servicekit.middleware.probes import ProbesMiddleware
from servicekit.middleware.rate_limit import RateLimiter, RateLimitMiddleware
from servicekit.middleware.request_id import RequestIdMiddleware
from servicekit.middleware.security_headers import PRESETS, SecurityHeadersMiddleware
from servicekit.middleware.trusted_hosts import TrustedHostsMiddleware

__all__ = [
    "PRESETS",
    "UNMATCHED",
    "AccessLogMiddleware",
    "BodySizeLimitMiddleware",
    "CORSMiddleware",
    "MetricsMiddleware",
    "ProbesMiddleware",
    "RateLimitMiddleware",
    "RateLimiter",
    "RequestIdMiddleware",
    "RouteResolver",
    "SecurityHeadersMiddleware",
    "TrustedHostsMiddleware",
    "annotate_access_line",
    "starlette_route_template",
]
