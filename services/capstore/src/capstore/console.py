"""The console at /console/: both apps side by side (static HTML/JS in the package, no CDN).

The page talks to its own app with relative URLs and to the other app through
`/console/peer/...`, a same-origin forward to CONSOLE_PEER_URL limited to capstore's own routes, so
no CORS is needed and the page works behind the fleet gateway's path prefixes too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.resources import files
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from servicekit.clientip import TrustedProxies
from servicekit.middleware.security_headers import PRESETS

from capstore.config import Settings
from capstore.http_errors import KeyNotFound, PeerUnavailable

__all__ = ["PEER_PATHS", "add_console"]

_STATIC = files("capstore") / "static"
_PAGE_HEADERS = {
    "content-security-policy": PRESETS["html"]["content-security-policy"],
    "cache-control": "no-cache",
}
PEER_PATHS = re.compile(
    r"(write/[A-Za-z0-9._:~-]{1,200}/.+|read/[A-Za-z0-9._:~-]{1,200}|kv/[A-Za-z0-9._:~-]{1,200}"
    r"|circuit-breaker|cluster|admin/faults|admin/faults/[a-z0-9_-]{1,32}|admin/heal)"
)
"""The only peer routes the console may reach (never the peer's console, so no forwarding loops)."""
_FORWARDED_REQUEST_HEADERS = ("content-type", "x-session-token", "authorization")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "x-session-token", "retry-after")
_PEER_TIMEOUT_S = 5.0


def add_console(
    api: FastAPI, settings: Settings, *, require_admin: Callable[[Request], None], proxies: TrustedProxies
) -> None:
    page = (_STATIC / "console.html").read_text(encoding="utf-8")
    api.mount("/console/static", StaticFiles(directory=str(_STATIC)), name="console-static")
    peer_url = settings.peer_url

    @api.get("/console", include_in_schema=False)
    async def console_redirect() -> RedirectResponse:
        return RedirectResponse("console/")

    @api.get("/console/", include_in_schema=False)
    async def console() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    @api.api_route("/console/peer/{path:path}", methods=["GET", "POST", "PUT", "DELETE"], include_in_schema=False)
    async def peer(request: Request, path: str) -> Response:
        if not PEER_PATHS.fullmatch(path):
            raise KeyNotFound(f"the console does not forward {path[:60]!r} to the other app")
        if path.startswith("admin/"):
            require_admin(request)  # checked here too: the peer sees this app as a loopback client
        headers = {name: request.headers[name] for name in _FORWARDED_REQUEST_HEADERS if name in request.headers}
        headers["x-forwarded-for"] = proxies.client_ip(request.scope)
        try:
            async with httpx.AsyncClient(timeout=_PEER_TIMEOUT_S) as client:
                reply = await client.request(
                    request.method, f"{peer_url}/{quote(path, safe='/')}", content=await request.body(), headers=headers
                )
        except httpx.HTTPError as error:
            raise PeerUnavailable(f"the other app at {peer_url} did not answer: {type(error).__name__}") from None
        kept = {name: reply.headers[name] for name in _FORWARDED_RESPONSE_HEADERS if name in reply.headers}
        return Response(reply.content, status_code=reply.status_code, headers=kept)
