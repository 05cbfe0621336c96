"""Refuse request bodies over the limit with 413 before the application sees any of them.

A declared Content-Length over the limit is refused at once. A body without Content-Length
(chunked) is read up to the limit first and replayed to the application, so an oversize upload is
refused whole and the application never acts on a partial body.
"""

from __future__ import annotations

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send, send_json

__all__ = ["BodySizeLimitMiddleware"]


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive (MAX_REQUEST_SIZE_MB)")
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        limit_mb = self.max_bytes / (1024 * 1024)
        await send_json(send, 413, {"error": "request_too_large", "detail": f"request body exceeds {limit_mb:g} MB"},
                        [(b"connection", b"close")])  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = chunked = None
        for name, value in scope.get("headers", ()):  # one pass for both framing headers
            if name == b"content-length":
                declared = bytes(value)
                break
            if name == b"transfer-encoding":
                chunked = value
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_json(send, 400, {"error": "bad_request", "detail": "invalid Content-Length"})
                return
            if length > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)  # the server enforces framing to the declared length
            return
        if chunked is None:
            await self.app(scope, receive, send)  # no body
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
