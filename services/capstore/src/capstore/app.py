"""capstore's ASGI app, one codebase for app_cp and app_ap (Settings.MODE), inside servicekit's
envelope (health, readiness, /metrics, logs, host checks, CORS, body and rate limits come from there).

Routes: the seed's API (`POST /write/{key}/{value}`, `GET /read/{key}`), the JSON API
(`PUT/GET/DELETE /kv/{key}`), `/circuit-breaker` and `/cluster` (probes: never rate-limited),
token-protected fault injection under `/admin/`, and the console at `/console/`.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from servicekit import Health, ReadinessCheck, configure_logging, envelope, metrics_for
from servicekit.asgi import ASGIApp
from servicekit.clientip import TrustedProxies
from servicekit.serving import freeze_startup_heap
from starlette.exceptions import HTTPException as StarletteHTTPException

from capstore.config import Settings, fault_admin_check
from capstore.errors import CapstoreError
from capstore.http_errors import (
    AdminForbidden,
    AdminUnauthorized,
    FaultAdminDisabled,
    KeyNotFound,
    error_body,
    error_headers,
    http_status,
)
from capstore.runtime import Runtime
from capstore.seed_routes import SESSION_HEADER, SeedRoutes, read_payload, write_payload
from capstore.telemetry import Telemetry

__all__ = ["SESSION_HEADER", "asgi", "create_app"]


class KVBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str


class FaultBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = Field(description="pass, drop, delay or blackhole")
    delay_ms: float = 0.0


def _with_session(payload: dict[str, Any], session: str | None, status: int = 200) -> JSONResponse:
    headers = {SESSION_HEADER: session} if session else {}
    return JSONResponse(payload, status_code=status, headers=headers)


def _route(api: FastAPI, path: str) -> Any:
    return next(route for route in api.routes if getattr(route, "path", None) == path)


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or Settings()
    # Loggers bound below (ours, servicekit's breaker listener) must see this app's log settings;
    # envelope() configures the same way again at the end.
    configure_logging(
        level=settings.LOG_LEVEL,
        json=settings.json_logs,
        service=settings.service_name,
        secret_values=settings.secret_values(),
    )
    metrics = metrics_for(settings)
    telemetry = Telemetry(metrics, settings.MODE)
    runtime = Runtime(settings, telemetry)
    proxies = TrustedProxies(settings.TRUSTED_PROXIES)
    mode = settings.MODE

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        freeze_startup_heap()
        try:
            yield
        finally:
            await runtime.stop()

    api = FastAPI(
        title=f"capstore app_{mode}",
        version="0.1.0",
        description="CP mode: linearizable, refuses under partitions." if mode == "cp" else
        "AP mode: always answers, reports staleness, read-your-writes with a session token.",
        lifespan=lifespan,
    )  # fmt: skip
    api.router.redirect_slashes = False  # an API answers the path it was asked, or 404
    api.state.runtime = runtime
    api.state.settings = settings

    @api.exception_handler(CapstoreError)
    async def capstore_error(request: Request, error: CapstoreError) -> JSONResponse:
        headers = error_headers(error, request.headers.get(SESSION_HEADER), SESSION_HEADER)
        return JSONResponse(error_body(error), status_code=http_status(error), headers=headers)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        # never echo the input back: it may be huge or hostile
        return JSONResponse({"error": "invalid_request", "detail": f"{where}: {first.get('msg')}"}, status_code=400)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(error.detail)}, error.status_code, dict(error.headers or {}))

    def session_of(request: Request) -> str | None:
        return request.headers.get(SESSION_HEADER) or None

    # -- the seed's API ---------------------------------------------------------------------------

    @api.post("/write/{key}/{value:path}", summary="Write VALUE under KEY (seed API)")
    async def seed_write(request: Request, key: str, value: str) -> JSONResponse:
        reply = await runtime.write(key, value, session_of(request))
        return _with_session(write_payload(reply, mode, value), reply.session)

    @api.get("/read/{key}", summary="Read KEY with its staleness (seed API)")
    async def seed_read(request: Request, key: str) -> JSONResponse:
        reply = await runtime.read(key, session_of(request))
        return _with_session(read_payload(reply, mode), reply.session)

    # -- the JSON API -----------------------------------------------------------------------------

    @api.put("/kv/{key}", summary="Write a value")
    async def kv_put(request: Request, key: str, body: KVBody) -> JSONResponse:
        reply = await runtime.write(key, body.value, session_of(request))
        return _with_session(write_payload(reply, mode, body.value), reply.session)

    @api.get("/kv/{key}", summary="Read a value (404 if absent or deleted)")
    async def kv_get(request: Request, key: str) -> JSONResponse:
        reply = await runtime.read(key, session_of(request))
        if reply.value is None:
            raise KeyNotFound(f"no value under {key!r}")
        return _with_session(read_payload(reply, mode), reply.session)

    @api.delete("/kv/{key}", summary="Delete a value (a versioned tombstone)")
    async def kv_delete(request: Request, key: str) -> JSONResponse:
        reply = await runtime.delete(key, session_of(request))
        return _with_session(write_payload(reply, mode, None), reply.session)

    # -- fault injection --------------------------------------------------------------------------

    def require_admin(request: Request) -> None:
        if not settings.fault_admin_enabled:
            raise FaultAdminDisabled("fault injection is off (ENABLE_FAULT_ADMIN=true turns it on)")
        token = settings.admin_token()
        if token:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip().encode(), token.encode()):
                raise AdminUnauthorized("a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)")
            return
        if settings.PRODUCTION_MODE:
            raise AdminUnauthorized("fault injection needs ADMIN_TOKEN in production")
        try:
            loopback = ipaddress.ip_address(proxies.client_ip(request.scope)).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise AdminForbidden("no ADMIN_TOKEN is set, so fault injection is only allowed from this machine")

    @api.get("/admin/faults", summary="Fault state of each node's proxy")
    async def admin_faults(request: Request) -> dict[str, Any]:
        require_admin(request)
        return {"mode": mode, "nodes": runtime.faults()}

    @api.post("/admin/faults/{node}", summary="Partition (blackhole), kill (drop), delay or heal (pass) a node")
    async def admin_set_fault(request: Request, node: str, body: FaultBody) -> dict[str, Any]:
        require_admin(request)
        return {"mode": mode, "node": node, "fault": await runtime.set_fault(node, body.mode, body.delay_ms)}

    @api.post("/admin/heal", summary="Heal every node")
    async def admin_heal(request: Request) -> dict[str, Any]:
        require_admin(request)
        return {"mode": mode, "nodes": await runtime.heal()}

    if settings.ENABLE_CONSOLE:
        from capstore.console import add_console

        add_console(api, settings, require_admin=require_admin, proxies=proxies)

    health = Health(
        "capstore",
        checks=[ReadinessCheck("nodes", runtime.ping_nodes, timeout=settings.NETWORK_TIMEOUT_SEC + 1.0)],
        liveness_details=lambda: {"mode": mode, "app_id": runtime.app_id},
    )
    # The seed's hot routes are answered in front of FastAPI (same answers, a fraction of the CPU).
    hot = SeedRoutes(
        api, runtime, write_route=_route(api, "/write/{key}/{value:path}"), read_route=_route(api, "/read/{key}")
    )
    app = envelope(
        hot,
        settings,
        health=health,
        metrics=metrics,
        extra_checks=[fault_admin_check],
        extra_probes={
            "/circuit-breaker": lambda: (200, runtime.breaker_status()),
            "/cluster": lambda: (200, runtime.status()),
        },
    )
    # httpx (the console's forward to the other app) logs every request at INFO
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return app


def asgi() -> ASGIApp:
    """Zero-argument factory for uvicorn/gunicorn (`capstore.app:asgi`); MODE comes from the environment."""
    return create_app(Settings())
