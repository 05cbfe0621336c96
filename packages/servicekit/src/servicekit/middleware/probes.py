"""Answers /health, /ready and /metrics before any other layer.

Probes come from orchestrators by pod IP (no valid Host header) and must never be rate-limited,
so they are served here, outside the host check, limiter, access log and request metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from servicekit.asgi import ASGIApp, Receive, Scope, Send, send_json, send_response
from servicekit.health import Health
from servicekit.metrics import ServiceMetrics

__all__ = ["ProbesMiddleware"]

_HEALTH_JSON = b"application/health+json"
_NO_STORE = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]

ExtraProbe = Callable[[], tuple[int, Mapping[str, Any]]]


class ProbesMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        health: Health,
        metrics: ServiceMetrics | None,
        health_path: str = "/health",
        ready_path: str = "/ready",
        metrics_path: str = "/metrics",
        extra_probes: Mapping[str, ExtraProbe] | None = None,
    ) -> None:
        self.app = app
        self.health = health
        self.metrics = metrics
        self.health_path = health_path
        self.ready_path = ready_path
        self.metrics_path = metrics_path
        self.extra_probes = dict(extra_probes or {})
        self._paths = {health_path, ready_path, metrics_path, *self.extra_probes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self._paths:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_json(send, 405, {"error": "method_not_allowed", "detail": "probes answer GET and HEAD"},
                            [(b"allow", b"GET, HEAD"), *_NO_STORE])  # fmt: skip
            return
        path = scope["path"]
        if path == self.health_path:
            await send_json(send, 200, self.health.liveness(), _NO_STORE, _HEALTH_JSON)
        elif path == self.ready_path:
            ok, body = await self.health.readiness()
            await send_json(send, 200 if ok else 503, body, _NO_STORE, _HEALTH_JSON)
        elif path == self.metrics_path:
            if self.metrics is None:
                await send_json(
                    send, 404, {"error": "not_found", "detail": "metrics are disabled (ENABLE_METRICS=false)"}
                )
                return
            exposition, content_type = self.metrics.render()
            await send_response(send, 200, exposition, content_type.encode(), _NO_STORE)
        else:
            status, payload = self.extra_probes[path]()
            await send_json(send, status, payload, _NO_STORE)
