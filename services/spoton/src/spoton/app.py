"""`create_app(settings)`: the SpotOn FastAPI app inside servicekit's production envelope."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
from fastapi import FastAPI
from pydantic import SecretStr
from servicekit import Health, ReadinessCheck, enforce_deploy_checks, envelope, metrics_for
from servicekit.asgi import ASGIApp

from spoton.api import admin, analytics, auth, environments, exports, gdpr, reid, system, tasks, tracking, web, ws
from spoton.api.errors import install_error_handlers
from spoton.api.state import AppState
from spoton.config import DEPLOY_CHECKS, Settings
from spoton.db import Database
from spoton.exports import ExportManager, TaskFrames
from spoton.logs import log
from spoton.metrics import SpotOnMetrics
from spoton.pipeline import Broadcaster, check_models
from spoton.pipeline.backends import make_job_runner, make_live_state, make_object_store
from spoton.security import FieldCipher, PasswordHasher, TokenService

__all__ = ["asgi", "create_app"]

VERSION = "0.1.0"


def _secret(settings: Settings, value: SecretStr | None, name: str) -> str:
    """The configured secret; outside production a generated one kept in DATA_DIR (never per process)."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    # Production never gets here: the deploy checks refused a missing secret already.
    path = Path(settings.DATA_DIR) / f"{name.lower()}.dev-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
        log.warning("generated a development secret; set it in production", setting=name, path=str(path))
    return path.read_text(encoding="utf-8").strip()


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or Settings()
    # Refuse unsafe production settings before building anything (envelope checks again, cheaply).
    enforce_deploy_checks(settings, DEPLOY_CHECKS)
    suite = check_models(settings)  # a missing weights file fails here, naming the file
    metrics = metrics_for(settings)
    spoton_metrics = SpotOnMetrics(metrics)
    db = Database(settings.database_url)
    broadcaster = Broadcaster(settings.WS_QUEUE_SIZE, on_drop=spoton_metrics.dropped)
    live = make_live_state(settings, broadcaster)
    object_store = make_object_store(settings)
    jobs = make_job_runner(settings, db, suite, live, spoton_metrics.job_counters(), object_store)
    state = AppState(
        settings=settings,
        db=db,
        tokens=TokenService(
            _secret(settings, settings.JWT_SECRET_KEY, "JWT_SECRET_KEY"),
            previous_secrets=settings.JWT_PREVIOUS_SECRET_KEYS,
            expire_minutes=settings.JWT_ACCESS_TOKEN_EXPIRE_MINUTES,
            grace_minutes=settings.JWT_ROTATION_GRACE_MINUTES,
            issuer=settings.JWT_ISSUER,
        ),
        hasher=PasswordHasher(),
        cipher=FieldCipher(_secret(settings, settings.ENCRYPTION_SECRET_KEY, "ENCRYPTION_SECRET_KEY")),
        suite=suite,
        broadcaster=broadcaster,
        jobs=jobs,
        metrics=spoton_metrics,
        exports=ExportManager(db, settings.DATA_DIR / "exports", dt.timedelta(minutes=settings.EXPORT_TTL_MINUTES)),
    )

    state.object_store = object_store
    state.live = live
    # Exports re-read a task's frames (MP4) from its upload, the media root or S3.
    state.exports.frames = TaskFrames(
        settings.DATA_DIR / "uploads", settings.media_root, object_store.fetch if object_store else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.DATABASE_AUTO_MIGRATE:
            await db.migrate()
        await live.start()
        interrupted = await jobs.recover()
        if interrupted:
            log.warning("marked interrupted jobs as failed", count=interrupted)
        psutil.cpu_percent(interval=None)  # the first reading is meaningless; prime it
        try:
            yield
        finally:
            await jobs.shutdown(grace_s=settings.GRACEFUL_TIMEOUT / 2)
            await state.exports.wait_all()
            await live.close()
            await db.dispose()

    prefix = settings.API_V1_PREFIX
    api = FastAPI(
        title=settings.APP_NAME,
        version=VERSION,
        lifespan=lifespan,
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=f"{prefix}/docs/oauth2-redirect",
        openapi_url=f"{prefix}/openapi.json",
    )
    api.state.spoton = state
    install_error_handlers(api)
    if settings.ENABLE_AUTH_ENDPOINTS:
        api.include_router(auth.router, prefix=prefix)
    if settings.ENABLE_ADMIN_ENDPOINTS:
        api.include_router(admin.router, prefix=prefix)
    api.include_router(environments.router, prefix=prefix)
    api.include_router(tasks.router, prefix=prefix)
    api.include_router(tracking.router, prefix=prefix)
    api.include_router(reid.router, prefix=prefix)
    if settings.ENABLE_ANALYTICS_ENDPOINTS:
        api.include_router(analytics.router, prefix=prefix)
    if settings.ENABLE_EXPORT_ENDPOINTS:
        api.include_router(exports.router, prefix=prefix)
    api.include_router(gdpr.router, prefix=prefix)
    api.include_router(system.router, prefix=prefix)
    api.include_router(ws.router)
    api.include_router(web.router)

    async def database_ready() -> dict[str, Any]:
        await db.ping()
        return {"kind": db.kind}

    async def live_state_ready() -> dict[str, Any]:
        await live.ping()
        return {"kind": live.kind, "job_backend": settings.JOB_BACKEND}

    checks = [ReadinessCheck("database", database_ready, timeout=2.0)]
    if settings.REDIS_URL:
        checks.append(ReadinessCheck("redis", live_state_ready, timeout=2.0))
    health = Health(
        "spoton",
        version=VERSION,
        checks=checks,
        liveness_details=lambda: {"active_tasks": len(jobs.active()), "detector": suite.detector_type},
    )
    return envelope(api, settings, health=health, metrics=metrics, extra_checks=DEPLOY_CHECKS)


def asgi() -> ASGIApp:
    """Zero-argument factory for uvicorn/gunicorn (`spoton.app:asgi`)."""
    return create_app(Settings())
