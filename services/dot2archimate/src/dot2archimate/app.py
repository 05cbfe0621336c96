"""The dot2archimate web app: upload or paste a graph, see its ArchiMate views, download the model.

FastAPI inside servicekit's envelope (security headers with the `html` preset, body limit, host
checks, rate limits, metrics, logs and the probes come from there).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from servicekit import Health, ReadinessCheck, envelope, metrics_for
from servicekit.asgi import ASGIApp
from starlette.exceptions import HTTPException as StarletteHTTPException

from .config import Settings, web_checks
from .errors import Dot2ArchimateError
from .rules import load_rules
from .web.errors import error_status
from .web.legal import load_legal_settings
from .web.routes import WebContext, WebMetrics, api_router, error_page, page_router, templates
from .web.service import Converter
from .web.sessions import FileSessionStore, GuardedStore, RedisSessionStore, SessionSigner, SessionStore

__all__ = ["asgi", "create_app"]

STATIC = Path(__file__).resolve().parent / "web" / "static"


def _secret(settings: Settings) -> bytes:
    """SECRET_KEY, or in development a random key kept in DATA_DIR so every worker shares it."""
    if settings.SECRET_KEY is not None and settings.SECRET_KEY.get_secret_value():
        return settings.SECRET_KEY.get_secret_value().encode()
    path = settings.DATA_DIR / "dev-secret-key"
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_hex(32).encode())
    return path.read_bytes().strip()


def _store(settings: Settings) -> SessionStore:
    if settings.SESSION_BACKEND == "redis":
        if not settings.REDIS_URL:
            raise ValueError("SESSION_BACKEND=redis needs REDIS_URL (see `dot2archimate check --deploy`)")
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0)
        return RedisSessionStore(client, settings.SESSION_TTL)
    return FileSessionStore(settings.DATA_DIR / "sessions", settings.SESSION_TTL)


def _health(settings: Settings, store: GuardedStore) -> Health:
    async def graphviz() -> dict[str, Any]:
        exe = shutil.which(settings.LAYOUT_ENGINE)
        if exe is None:
            raise RuntimeError(f"Graphviz `{settings.LAYOUT_ENGINE}` is not installed (views fall back to a grid)")
        return {"engine": settings.LAYOUT_ENGINE}

    def liveness() -> dict[str, Any]:
        # The deployment guide's body; liveness stays 200 (servicekit: no dependency decides it),
        # /ready turns 503 when storage is down.
        ok = store.liveness()
        return {"status": "healthy" if ok else "degraded", "storage": "accessible" if ok else "inaccessible",
                "timestamp": time.time()}  # fmt: skip

    checks = [ReadinessCheck("storage", store.check, timeout=2.0), ReadinessCheck("graphviz", graphviz, timeout=1.0)]
    return Health(service="dot2archimate", checks=checks, liveness_details=liveness)


def create_app(settings: Settings) -> ASGIApp:
    legal = load_legal_settings(settings.LEGAL_SETTINGS_FILE)
    rules = load_rules(settings.RULES_FILE) if settings.RULES_FILE else None
    store = GuardedStore(_store(settings))
    metrics = metrics_for(settings)
    web = WebContext(
        settings=settings,
        store=store,
        signer=SessionSigner(_secret(settings)),
        converter=Converter(
            limits=settings.limits(),
            layout=settings.layout(),
            rules=rules,
            concurrency=settings.GUNICORN_THREADS,
            queue_timeout=settings.CONVERT_QUEUE_TIMEOUT,
            time_budget=settings.CONVERT_TIMEOUT,
            max_view_nodes=settings.MAX_VIEW_NODES,
            preview_max_nodes=settings.PREVIEW_MAX_NODES,
        ),
        legal=legal,
        metrics=WebMetrics.register(metrics) if metrics else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await store.close()

    api = FastAPI(
        title="dot2archimate",
        version="0.1.0",
        description="DOT and terraform graphs to ArchiMate 3.2 models (exchange XML, Archi .archimate, CSV).",
        docs_url=None,  # FastAPI's docs load scripts from a CDN; /docs is our own page
        redoc_url=None,
        lifespan=lifespan,
    )
    api.state.web = web
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    api.include_router(page_router)
    api.include_router(api_router)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @api.exception_handler(Dot2ArchimateError)
    async def domain_error(request: Request, exc: Dot2ArchimateError) -> Response:
        if not wants_json(request):
            return error_page(request, exc)
        status, code = error_status(exc)
        return JSONResponse({"error": code, "detail": str(exc)}, status_code=status)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(exc.status_code, "http_error")
        if wants_json(request) or exc.status_code != 404:
            return JSONResponse({"error": code, "detail": str(exc.detail)}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))  # fmt: skip
        from .web.errors import NotFoundError

        return error_page(request, NotFoundError("there is no page at this address"))

    @api.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": "invalid_request", "detail": f"{where}: {first.get('msg')}"}, status_code=422)

    _ = templates  # loaded at import; keeps the template folder a hard dependency of the app
    return envelope(api, settings, health=_health(settings, store), metrics=metrics, extra_checks=[web_checks])


def asgi() -> ASGIApp:
    """Zero-argument factory for uvicorn/gunicorn (`dot2archimate.app:asgi`)."""
    return create_app(Settings())
