"""Security response headers with the OWASP Secure Headers Project's recommended values.

Two presets: `api` (JSON/tiles: nothing may be framed or scripted; an HTML response among them
still gets the document-only headers) and `html` (server-rendered pages with same-origin scripts and
styles). Headers the application already set win, so a page can
widen its own CSP; the `Server` header is always removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from servicekit.asgi import RESPONSE_HEADERS, ASGIApp, Message, Receive, Scope, Send

__all__ = ["PRESETS", "SecurityHeadersMiddleware"]

_COMMON = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
# Headers that act on documents only, which the `api` preset leaves off JSON and tiles as the OWASP
# REST Security Cheat Sheet does (each header costs every response its validation in the server):
# a permissions policy applies to a document and its frames, COOP to top-level navigations, a
# referrer policy to the requests a document makes (and to a redirect's next request, so redirects
# keep it), and cross-domain policies to Flash and PDF documents.
_DOCUMENT_ONLY = {
    "referrer-policy": "no-referrer",
    "x-permitted-cross-domain-policies": "none",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": (
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), "
        "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
        "picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), "
        "xr-spatial-tracking=()"
    ),
}

PRESETS: dict[str, dict[str, str]] = {
    "api": {
        **_COMMON,
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        # APIs are read cross-origin under CORS; tiles are loaded by <img> from other origins.
        "cross-origin-resource-policy": "cross-origin",
    },
    "html": {
        **_COMMON,
        **_DOCUMENT_ONLY,
        "content-security-policy": (
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'"
        ),
        "cross-origin-resource-policy": "same-origin",
    },
}


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        preset: Literal["api", "html"] = "api",
        overrides: Mapping[str, str | None] | None = None,
    ) -> None:
        self.app = app
        values = dict(PRESETS[preset])
        for name, value in (overrides or {}).items():
            if value is None:
                values.pop(name.lower(), None)
            else:
                values[name.lower()] = value
        self._headers = [(name.encode(), value.encode()) for name, value in values.items()]
        # an HTML page served under the api preset still gets the document-only headers, a redirect
        # its referrer policy
        self._document_headers = [
            (name.encode(), value.encode()) for name, value in _DOCUMENT_ONLY.items() if name not in values
        ]
        self._redirect_headers = [header for header in self._document_headers if header[0] == b"referrer-policy"]
        self._names = {name for name, _ in self._headers} | {name for name, _ in self._document_headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Inner layers (request id, rate limit) add their headers to this list instead of each
        # wrapping `send` (see servicekit.asgi.with_response_headers).
        collected: list[tuple[bytes, bytes]] = []
        scope[RESPONSE_HEADERS] = collected

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._merge(message.get("headers", ()), collected, message["status"])
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _merge(
        self, headers: Iterable[tuple[bytes, bytes]], collected: list[tuple[bytes, bytes]], status: int
    ) -> list[tuple[bytes, bytes]]:
        merged = []
        names = self._names
        overridden: set[bytes] | None = None
        ours = self._headers
        for header in headers:
            name = header[0].lower()
            if name == b"server":
                continue
            if name in names:
                overridden = {name} if overridden is None else overridden | {name}
            elif name == b"content-type" and self._document_headers and header[1].startswith(b"text/html"):
                ours = [*ours, *self._document_headers]
            merged.append(header)
        if 300 <= status < 400 and self._redirect_headers and ours is self._headers:
            ours = [*ours, *self._redirect_headers]
        merged.extend(collected)
        if overridden is None:
            merged.extend(ours)  # the common case: the app set none of ours
        else:
            merged.extend(header for header in ours if header[0] not in overridden)
        return merged
