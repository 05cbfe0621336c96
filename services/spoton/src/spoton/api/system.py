"""System endpoints of the seed guide: performance metrics and dashboard, comprehensive health,
alerts, and admin-only maintenance (garbage collection, cache clearing)."""

from __future__ import annotations

import gc
import os
import shutil
import time
from typing import Any

import psutil
from fastapi import APIRouter
from sqlalchemy import func, select

from spoton.api.deps import Admin, State, Viewer
from spoton.api.state import AppState
from spoton.db import Task, record_audit
from spoton.errors import LiveStateUnavailableError
from spoton.pipeline import JobStatus

__all__ = ["router"]

router = APIRouter(prefix="/system", tags=["system"])

_PROCESS = psutil.Process(os.getpid())


def current_metrics(state: AppState) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "timestamp": time.time(),
        "cpu_usage_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count(),
        "memory_usage_percent": memory.percent,
        "memory_available_mb": round(memory.available / 2**20, 1),
        "process_rss_mb": round(_PROCESS.memory_info().rss / 2**20, 1),
        "process_threads": _PROCESS.num_threads(),
        "active_tasks": len(state.jobs.active()),
        "websocket_clients": state.broadcaster.subscribers(),
        "websocket_dropped_messages_total": state.broadcaster.dropped_total,
        "frames_processed_total": state.metrics.frames_total,
    }


@router.get("/performance/metrics")
async def performance_metrics(user: Viewer, state: State) -> dict[str, Any]:
    return current_metrics(state)


@router.get("/performance/dashboard")
async def performance_dashboard(user: Viewer, state: State) -> dict[str, Any]:
    async with state.db.session() as session:
        by_status = dict((await session.execute(select(Task.status, func.count()).group_by(Task.status))).all())
        recent = (
            await session.execute(
                select(Task).where(Task.status == JobStatus.COMPLETED).order_by(Task.finished_at.desc()).limit(10)
            )
        ).scalars().all()  # fmt: skip
        running = (await session.execute(select(Task).where(Task.status == JobStatus.RUNNING))).scalars().all()
    live = {t.id: await _progress(state, t) for t in running}  # any process's or worker's jobs
    return {
        "current_metrics": current_metrics(state),
        "tasks_by_status": by_status,
        "running": [{"task_id": t, "frames_done": p[0], "frames_total": p[1]} for t, p in live.items() if p],
        "recent_throughput": [
            {"task_id": t.id, "fps_per_camera": t.stats.get("fps_per_camera"),
             "stage_ms_per_frame": t.stats.get("stage_ms_per_frame")}
            for t in recent
        ],
    }  # fmt: skip


async def _checks(state: AppState) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        await state.db.ping()
        checks["database"] = {"status": "pass", "kind": state.db.kind}
    except Exception as exc:  # reported, not raised: this endpoint describes failures
        checks["database"] = {"status": "fail", "output": f"{type(exc).__name__}: {exc}"[:300]}
    checks["database"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    checks["models"] = {
        "status": "pass", "detector": state.suite.detector_type, "tracker": state.suite.tracker_type,
        "reid": state.suite.reid_type,
    }  # fmt: skip
    data_dir = state.settings.DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(data_dir)
    free_percent = disk.free / disk.total * 100
    checks["disk"] = {"status": "pass" if free_percent > 5 else "fail", "free_percent": round(free_percent, 1)}
    checks["jobs"] = {"status": "pass", "active": len(state.jobs.active()), "backend": state.jobs.kind}
    if state.live is not None:
        try:
            await state.live.ping()
            checks["live_state"] = {"status": "pass", "kind": state.live.kind}
        except LiveStateUnavailableError as error:
            checks["live_state"] = {"status": "fail", "kind": state.live.kind, "error": str(error)}
    return checks


async def _progress(state: AppState, task: Task) -> tuple[int, int]:
    try:
        live = await state.live.progress(task.id) if state.live is not None else None
    except LiveStateUnavailableError:
        live = None
    return live or (task.frames_done, task.frames_total)


@router.get("/health/comprehensive")
async def comprehensive_health(user: Viewer, state: State) -> dict[str, Any]:
    checks = await _checks(state)
    ok = all(c["status"] == "pass" for c in checks.values())
    return {"status": "healthy" if ok else "unhealthy", "checks": checks, "metrics": current_metrics(state)}


@router.get("/alerts")
async def alerts(user: Viewer, state: State) -> dict[str, Any]:
    metrics = current_metrics(state)
    found: list[dict[str, Any]] = []
    settings = state.settings
    if metrics["cpu_usage_percent"] > settings.ALERT_CPU_PERCENT:
        found.append({"level": "warning", "kind": "cpu", "message": f"CPU at {metrics['cpu_usage_percent']}%"})
    if metrics["memory_usage_percent"] > settings.ALERT_MEMORY_PERCENT:
        found.append({"level": "warning", "kind": "memory",
                      "message": f"memory at {metrics['memory_usage_percent']}%"})  # fmt: skip
    for name, check in (await _checks(state)).items():
        if check["status"] != "pass":
            found.append({"level": "critical", "kind": name, "message": f"{name} check failing"})
    async with state.db.session() as session:
        failed = (
            await session.execute(
                select(Task.id, Task.error).where(Task.status == JobStatus.FAILED)
                .order_by(Task.finished_at.desc()).limit(5)
            )
        ).all()  # fmt: skip
    for task_id, error in failed:
        found.append({"level": "warning", "kind": "task_failed", "message": f"task {task_id} failed: {error}"})
    if state.broadcaster.dropped_total:
        message = f"{state.broadcaster.dropped_total} live messages dropped for slow clients"
        found.append({"level": "info", "kind": "websocket_backpressure", "message": message})
    return {"alerts": found, "count": len(found)}


@router.post("/maintenance/garbage-collect")
async def garbage_collect(admin: Admin, state: State) -> dict[str, Any]:
    before = _PROCESS.memory_info().rss
    collected = gc.collect()
    expired = await state.exports.sweep()
    async with state.db.session() as session:
        details = {"collected": collected, "expired_exports": expired}
        record_audit(
            session, actor=admin.username, action="maintenance.garbage_collect", details=details,
            client_ip=admin.client_ip,
        )  # fmt: skip
        await session.commit()
    return {
        "collected_objects": collected,
        "expired_exports_removed": expired,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(_PROCESS.memory_info().rss / 2**20, 1),
    }


@router.post("/maintenance/clear-cache")
async def clear_cache(admin: Admin, state: State) -> dict[str, Any]:
    entries = sum(len(c) for c in state.caches.values())
    for cache in state.caches.values():
        cache.clear()
    queued = state.broadcaster.clear()
    async with state.db.session() as session:
        record_audit(session, actor=admin.username, action="maintenance.clear_cache",
                     details={"entries": entries, "live_messages": queued}, client_ip=admin.client_ip)  # fmt: skip
        await session.commit()
    return {"cache_entries_cleared": entries, "live_messages_dropped": queued}
