"""Refuse requests whose Host header is not an allowed host (400), against Host-header attacks."""

from __future__ import annotations

from collections.abc import Sequence

from servicekit.asgi import ASGIApp, Receive, Scope, Send, get_header, send_json

__all__ = ["TrustedHostsMiddleware"]

_MAX_REMEMBERED = 256


def _host_without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrustedHostsMiddleware:
    """`allowed_hosts` entries: exact names, `*.example.org` for subdomains, or `*` for any."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        if not allowed_hosts:
            raise ValueError("allowed_hosts is empty: list the host names this service answers to, e.g. ['localhost']")
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.exact = {host.lower() for host in allowed_hosts if not host.startswith("*.")}
        self.suffixes = tuple(host[1:].lower() for host in allowed_hosts if host.startswith("*."))
        self._verdicts: dict[bytes, bool] = {}
        """Host header as sent → allowed; bounded, since hostile clients choose what they send."""

    def is_allowed(self, host: str) -> bool:
        name = _host_without_port(host.lower())
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = get_header(scope, b"host")
        allowed: bool | None = False
        if raw:
            allowed = self._verdicts.get(raw)
            if allowed is None:
                allowed = self.is_allowed(raw.decode("latin-1"))
                if len(self._verdicts) < _MAX_REMEMBERED:
                    self._verdicts[raw] = allowed
        if allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send_json(send, 400, {"error": "invalid_host", "detail": "Invalid Host header"})
