"""The seed's two hot routes answered in pure ASGI, in front of FastAPI.

`POST /write/{key}/{value}` and `GET /read/{key}` stay declared on the FastAPI app (OpenAPI, docs,
schemathesis, and the fallback for anything unusual, e.g. a `root_path` or HEAD). This layer answers
them first with the same bodies, headers and errors, without FastAPI's per-request machinery
(request object, dependency solving, response class), which cost more CPU than the Redis round trip
of a write. It records the FastAPI route in the scope, so servicekit's metrics label them by the
same templates. Every other request goes to FastAPI unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from servicekit.asgi import ASGIApp, Receive, Scope, Send

from capstore.errors import CapstoreError
from capstore.http_errors import error_body, error_headers, http_status
from capstore.runtime import ReadReply, Runtime, WriteReply

__all__ = ["SESSION_HEADER", "SeedRoutes", "read_payload", "write_payload"]

SESSION_HEADER = "X-Session-Token"
_SESSION_HEADER_RAW = SESSION_HEADER.lower().encode()
_JSON = (b"content-type", b"application/json")


def write_payload(reply: WriteReply, mode: str, value: str | None) -> dict[str, Any]:
    return {
        "key": reply.key,
        "value": value,
        "version": reply.version,
        "node": reply.node,
        "mode": mode,
        "deleted": reply.deleted,
        "timestamp": reply.timestamp,
        "session": reply.session,
    }


def read_payload(reply: ReadReply, mode: str) -> dict[str, Any]:
    return {
        "key": reply.key,
        "value": reply.value,
        "version": reply.version,
        "node": reply.node,
        "mode": mode,
        "staleness_ms": reply.staleness_ms,
        "stale": reply.stale,
        "session": reply.session,
    }


def _render(payload: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except TypeError:  # orjson refuses what Starlette's JSONResponse would still render (e.g. surrogates)
        return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def _send_json(send: Send, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
    body = _render(payload)
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), _JSON]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SeedRoutes:
    def __init__(self, app: ASGIApp, runtime: Runtime, *, write_route: Any, read_route: Any) -> None:
        self.app = app
        self.runtime = runtime
        self.mode = runtime.mode
        self.write_route = write_route
        self.read_route = read_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            path: str = scope["path"]
            method = scope["method"]
            # The same matches as Starlette's `/write/{key}/{value:path}` and `/read/{key}`.
            if method == "POST" and path.startswith("/write/"):
                key, slash, value = path[7:].partition("/")
                if key and slash:
                    scope["route"] = self.write_route
                    await self._write(scope, send, key, value)
                    return
            elif method == "GET" and path.startswith("/read/"):
                key = path[6:]
                if key and "/" not in key:
                    scope["route"] = self.read_route
                    await self._read(scope, send, key)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def _session(scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == _SESSION_HEADER_RAW:
                return bytes(value).decode("latin-1") or None
        return None

    async def _write(self, scope: Scope, send: Send, key: str, value: str) -> None:
        session = self._session(scope)
        try:
            reply = await self.runtime.write(key, value, session)
        except CapstoreError as error:
            await self._error(send, error, session)
            return
        headers = {SESSION_HEADER: reply.session} if reply.session else {}
        await _send_json(send, 200, write_payload(reply, self.mode, value), headers)

    async def _read(self, scope: Scope, send: Send, key: str) -> None:
        session = self._session(scope)
        try:
            reply = await self.runtime.read(key, session)
        except CapstoreError as error:
            await self._error(send, error, session)
            return
        headers = {SESSION_HEADER: reply.session} if reply.session else {}
        await _send_json(send, 200, read_payload(reply, self.mode), headers)

    @staticmethod
    async def _error(send: Send, error: CapstoreError, session: str | None) -> None:
        await _send_json(send, http_status(error), error_body(error), error_headers(error, session, SESSION_HEADER))
