"""CORS for an explicit list of origins.

Unlike permissive defaults, an origin is echoed back only if it is listed; `*` (development only,
refused in production by the deploy checks) answers `*` literally and never with credentials, so no
configuration can end up reflecting an arbitrary origin together with cookies.
"""

from __future__ import annotations

from collections.abc import Sequence

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send, get_header, send_json, send_response

__all__ = ["CORSMiddleware"]

_SAFE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DEFAULT_HEADERS = ("accept", "accept-language", "content-language", "content-type", "authorization", "x-request-id",
                    "if-none-match", "if-modified-since", "last-event-id")  # fmt: skip
_EXPOSED = "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after, etag, age"


class CORSMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Sequence[str],
        allow_credentials: bool = False,
        allowed_methods: Sequence[str] = _SAFE_METHODS,
        allowed_headers: Sequence[str] = _DEFAULT_HEADERS,
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.any_origin = "*" in allowed_origins
        self.origins = {origin.rstrip("/") for origin in allowed_origins if origin != "*"}
        # With a wildcard, credentials are never sent: browsers forbid it and reflecting would be unsafe.
        self.allow_credentials = allow_credentials and not self.any_origin
        self.methods = ", ".join(m.upper() for m in allowed_methods).encode()
        self.headers = {h.lower() for h in allowed_headers}
        self.max_age = str(max_age).encode()

    def _allow_origin_value(self, origin: str) -> bytes | None:
        if origin in self.origins:
            return origin.encode()
        if self.any_origin:
            return b"*"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_origin = get_header(scope, b"origin")
        if raw_origin is None:
            await self.app(scope, receive, send)
            return
        origin = raw_origin.decode("latin-1")
        allow = self._allow_origin_value(origin)
        preflight = scope["method"] == "OPTIONS" and get_header(scope, b"access-control-request-method") is not None
        if preflight:
            await self._preflight(scope, send, origin, allow)
            return
        if allow is None:
            await self.app(scope, receive, send)  # the browser blocks the response; the server need not
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"access-control-allow-origin", allow))
                headers.append((b"access-control-expose-headers", _EXPOSED.encode()))
                if allow != b"*":
                    headers.append((b"vary", b"Origin"))
                if self.allow_credentials:
                    headers.append((b"access-control-allow-credentials", b"true"))
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, send: Send, origin: str, allow: bytes | None) -> None:
        requested_method = (get_header(scope, b"access-control-request-method") or b"").decode("latin-1").upper()
        requested_headers = [
            h.strip().lower()
            for h in (get_header(scope, b"access-control-request-headers") or b"").decode("latin-1").split(",")
            if h.strip()
        ]
        problems = []
        if allow is None:
            problems.append(f"origin {origin!r} is not allowed")
        if requested_method.encode() not in self.methods.split(b", "):
            problems.append(f"method {requested_method!r} is not allowed")
        disallowed = [h for h in requested_headers if h not in self.headers]
        if disallowed:
            problems.append(f"headers {', '.join(disallowed)} are not allowed")
        if problems:
            await send_json(send, 400, {"error": "cors_preflight_refused", "detail": "; ".join(problems)},
                            [(b"vary", b"Origin")])  # fmt: skip
            return
        assert allow is not None
        headers = [
            (b"access-control-allow-origin", allow),
            (b"access-control-allow-methods", self.methods),
            (b"access-control-allow-headers", ", ".join(requested_headers).encode()),
            (b"access-control-max-age", self.max_age),
            (b"vary", b"Origin"),
        ]
        if self.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        await send_response(send, 204, b"", b"text/plain", headers)
