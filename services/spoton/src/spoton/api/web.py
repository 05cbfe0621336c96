"""The dashboard page and its two static files. The page itself is public; its data needs a token."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response

from spoton.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The API's CSP forbids everything; the page needs its own scripts, styles and WebSocket.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


def _read(name: str) -> bytes:
    return resources.files("spoton.web").joinpath(name).read_bytes()


def _response(body: bytes, media_type: str) -> Response:
    return Response(
        body, media_type=media_type, headers={"content-security-policy": PAGE_CSP, "cache-control": "no-cache"}
    )


@router.get("/dashboard")
async def dashboard() -> Response:
    return _response(_read("dashboard.html"), "text/html; charset=utf-8")


@router.get("/dashboard/static/{name}")
async def dashboard_static(name: str) -> Response:
    if name not in STATIC:  # a fixed list: no path from the request ever reaches the file system
        raise NotFoundError("file", name)
    return _response(_read(name), STATIC[name])
