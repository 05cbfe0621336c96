"""The map page and its vendored static files (no CDN), plus JSON 404/500 handlers."""

from __future__ import annotations

import mimetypes
from functools import cache
from importlib import resources
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from indoormaps.api.http import json_response, typed_errors
from indoormaps.errors import NotFound

__all__ = ["index", "map_page", "not_found", "server_error", "static_file"]

_STATIC = resources.files("indoormaps") / "static"
# servicekit's `api` preset forbids everything; the page widens it to its own origin only.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@cache
def _static_index() -> dict[str, Any]:
    """Every file shipped under static/, by relative path: requests can name nothing else (no traversal)."""
    found: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            elif not child.name.startswith("."):
                found[name] = child

    if _STATIC.is_dir():
        walk(_STATIC, "")
    return found


def _file_response(name: str) -> HttpResponse:
    entry = _static_index().get(name)
    if entry is None:
        raise NotFound(f"no static file {name[:80]!r}")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    response = HttpResponse(entry.read_bytes(), content_type=content_type)
    response["Cache-Control"] = "public, max-age=3600"
    return response


@typed_errors("GET")
async def static_file(request: HttpRequest, name: str) -> HttpResponse:
    return _file_response(name)


@typed_errors("GET")
async def map_page(request: HttpRequest) -> HttpResponse:
    response = _file_response("map.html")
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = PAGE_CSP
    return response


@typed_errors("GET")
async def index(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/map/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_response({"error": "not_found", "detail": f"no route for {request.path[:200]!r}"}, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return json_response({"error": "internal_error", "detail": "unexpected server error; see the logs"}, 500)
