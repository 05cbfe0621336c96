"""Request count and latency per route template (never the raw path: label cardinality stays bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send
from servicekit.metrics import ServiceMetrics

__all__ = ["UNMATCHED", "MetricsMiddleware", "RouteResolver", "starlette_route_template"]

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

RouteResolver = Callable[[Scope], str | None]
"""Returns the route template that served a request (called after the app ran), or None."""


def starlette_route_template(scope: Scope) -> str | None:
    """Starlette and FastAPI record the matched route in the scope (`scope["route"]`)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template is None:
        return None
    return f"{scope.get('root_path', '').rstrip('/')}{template}" if scope.get("root_path") else str(template)


class MetricsMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: ServiceMetrics, resolve_route: RouteResolver = starlette_route_template
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.resolve_route = resolve_route
        # Labelled children are looked up once per label set: labels() is the costly part.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _children_for(self, endpoint: str, method: str, status: int) -> tuple[Any, Any]:
        key = (endpoint, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.metrics.requests_total.labels(endpoint, method, str(status)),
                self.metrics.request_duration.labels(endpoint, method),
            )
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            method = scope["method"]
            counter, histogram = self._children_for(
                self.resolve_route(scope) or UNMATCHED, method if method in _METHODS else "OTHER", status
            )
            counter.inc()
            histogram.observe(time.perf_counter() - started)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = int(message["status"])
            await send(message)
            # Count at the last byte: the client may already send its next request while the
            # framework is still tidying up (Django closes the response in a thread).
            if kind == "http.response.body" and not message.get("more_body", False):
                record()

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            record()
