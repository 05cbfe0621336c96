"""HTTP plumbing shared by the views: the error table, JSON responses, parameters, absolute links."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from indoormaps.api.runtime import SCOPE_KEY, Runtime
from indoormaps.errors import IndoorMapsError, InvalidParameter

__all__ = [
    "MethodNotAllowed",
    "error_body",
    "error_response",
    "json_response",
    "link",
    "runtime_of",
    "single_params",
    "typed_errors",
]

log = logging.getLogger("indoormaps.api")

View = Callable[..., Awaitable[HttpResponse]]


class MethodNotAllowed(IndoorMapsError):
    http_status = 405
    code = "method_not_allowed"


class UnsupportedMediaType(IndoorMapsError):
    http_status = 415
    code = "unsupported_media_type"


def error_body(exc: IndoorMapsError) -> dict[str, Any]:
    """The one error shape of the API: {"error": code, "detail": message[, "param": name]}."""
    body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
    param = getattr(exc, "param", None)
    if param is not None:
        body["param"] = param
    return body


def json_response(
    payload: Any, status: int = 200, content_type: str = "application/json", headers: Mapping[str, str] | None = None
) -> HttpResponse:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    response = HttpResponse(text.encode(), status=status, content_type=content_type)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(exc: IndoorMapsError, runtime: Runtime | None = None) -> HttpResponse:
    if runtime is not None and runtime.metrics is not None:
        runtime.metrics.errors_total.labels(exc.code).inc()
    headers = {"Cache-Control": "no-store"}
    if exc.http_status == 503:
        headers["Retry-After"] = "1"
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = exc.message.split(": ", 1)[-1]
    return json_response(error_body(exc), exc.http_status, headers=headers)


def runtime_of(request: HttpRequest) -> Runtime:
    runtime = request.scope.get(SCOPE_KEY)  # type: ignore[attr-defined]
    if not isinstance(runtime, Runtime):  # pragma: no cover - only if the app is wired wrongly
        raise RuntimeError("indoormaps views must run inside indoormaps.app.create_app")
    return runtime


def typed_errors(*methods: str) -> Callable[[View], View]:
    """Allow only `methods` (JSON 405 otherwise) and turn every IndoorMapsError into its JSON status."""
    allowed = tuple(dict.fromkeys((*methods, "HEAD") if "GET" in methods else methods))

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            runtime = runtime_of(request)
            try:
                if request.method not in allowed:
                    raise MethodNotAllowed(f"{request.method} is not allowed here; allowed: {', '.join(allowed)}")
                return await view(request, *args, **kwargs)
            except IndoorMapsError as exc:
                if exc.http_status >= 500:
                    log.warning("indoormaps %s: %s", exc.code, exc.message)
                return error_response(exc, runtime)

        return wrapper

    return decorate


def single_params(request: HttpRequest, allowed: Iterable[str] | None = None) -> dict[str, str]:
    """Query parameters as a plain dict; a repeated parameter (or an unknown one when `allowed` is given)
    is a 400, as are values with NUL bytes (PostgreSQL text cannot hold them)."""
    params: dict[str, str] = {}
    known = set(allowed) if allowed is not None else None
    for key, values in request.GET.lists():
        if known is not None and key not in known:
            raise InvalidParameter(key[:40], f"unknown query parameter; accepted: {sorted(known)}")
        if len(values) > 1:
            raise InvalidParameter(key[:40], "given more than once")
        if "\x00" in values[0]:
            raise InvalidParameter(key[:40], "NUL characters are not allowed")
        params[key] = values[0]
    return params


def _forwarded_proto(request: HttpRequest, trusted: Iterable[str]) -> str | None:
    client = request.scope.get("client")  # type: ignore[attr-defined]
    proto = request.headers.get("X-Forwarded-Proto")
    if not client or proto not in ("http", "https"):
        return None
    try:
        peer = ipaddress.ip_address(client[0])
        if any(peer in ipaddress.ip_network(net, strict=False) for net in trusted):
            return str(proto)
    except ValueError:
        return None
    return None


def link(request: HttpRequest, path: str, params: Mapping[str, Any] | None = None) -> str:
    """Absolute URL on this server (the Host was validated by servicekit; the scheme of a trusted proxy wins)."""
    runtime = runtime_of(request)
    scheme = _forwarded_proto(request, runtime.settings.TRUSTED_PROXIES) or request.scheme or "http"
    host = request.headers.get("Host") or f"{runtime.settings.HOST}:{runtime.settings.PORT}"
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
