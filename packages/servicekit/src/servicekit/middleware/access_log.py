"""One structured log event per request (method, path, status, duration, size, client)."""

from __future__ import annotations

import time

from servicekit.asgi import ASGIApp, Message, Receive, Scope, Send, get_header
from servicekit.clientip import TrustedProxies
from servicekit.logs import get_logger

__all__ = ["AccessLogMiddleware"]


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies
        self.log = get_logger("servicekit.access").bind()  # concrete once: logging is configured by now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_and_measure(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_measure)
        finally:
            agent = get_header(scope, b"user-agent")
            # The query string is left out on purpose: it can carry tokens.
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                bytes=size,
                client=self.proxies.client_ip(scope),
                user_agent=agent.decode("latin-1")[:200] if agent else None,
            )
