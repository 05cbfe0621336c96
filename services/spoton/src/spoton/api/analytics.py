"""Zone analytics for a task: enter/exit events, dwell times, occupancy over time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from spoton.analytics import Sample, Zone, dwell_summary, events_from_visits, occupancy_series, zone_visits
from spoton.api.deps import State, TaskId, Viewer
from spoton.api.state import AppState
from spoton.api.tracking import require_task
from spoton.db import Detection, Environment
from spoton.errors import InvalidInputError
from spoton.pipeline import JobStatus

__all__ = ["router"]

router = APIRouter(prefix="/analytics/tasks/{task_id}", tags=["analytics"])


async def _inputs(state: AppState, task_id: str) -> tuple[list[Sample], list[Zone], bool]:
    async with state.db.session() as session:
        task = await require_task(session, task_id)
        env = await session.get(Environment, task.environment_id) if task.environment_id is not None else None
        if env is None or not env.zones:
            raise InvalidInputError("analytics need the task to belong to an environment with zones")
        zones = [Zone.from_dict(z) for z in env.zones]
        rows = (
            await session.execute(
                select(Detection.global_person_id, Detection.ts, Detection.floor_x, Detection.floor_y).where(
                    Detection.task_id == task_id,
                    Detection.floor_x.is_not(None),
                    Detection.global_person_id.is_not(None),
                )
            )
        ).all()
    # The query filtered NULL persons and positions out.
    samples = [Sample(int(p), float(t), float(x), float(y)) for p, t, x, y in rows]  # type: ignore[arg-type]
    return samples, zones, task.status in JobStatus.FINAL


async def _cached(state: AppState, key: tuple[Any, ...], compute: Any) -> Any:
    cache = state.caches.setdefault("analytics", {})
    if key in cache:
        return cache[key]
    value, final = await compute()
    if final:  # results of a running task change with every frame
        cache[key] = value
    return value


@router.get("/zone-events")
async def zone_events(
    task_id: TaskId, user: Viewer, state: State, max_gap_s: float = Query(default=2.0, gt=0, le=600)
) -> dict[str, Any]:
    async def compute() -> tuple[dict[str, Any], bool]:
        samples, zones, final = await _inputs(state, task_id)
        events = events_from_visits(zone_visits(samples, zones, max_gap_s=max_gap_s))
        counts: dict[str, dict[str, int]] = {z.name: {"enter": 0, "exit": 0} for z in zones}
        for e in events:
            counts[e.zone][e.kind] += 1
        body = {
            "task_id": task_id,
            "counts": counts,
            "events": [{"person": e.person, "zone": e.zone, "kind": e.kind, "ts": e.ts} for e in events],
        }
        return body, final

    return await _cached(state, (task_id, "events", max_gap_s), compute)  # type: ignore[no-any-return]


@router.get("/dwell")
async def dwell(
    task_id: TaskId, user: Viewer, state: State, max_gap_s: float = Query(default=2.0, gt=0, le=600)
) -> dict[str, Any]:
    async def compute() -> tuple[dict[str, Any], bool]:
        samples, zones, final = await _inputs(state, task_id)
        return {"task_id": task_id, "zones": dwell_summary(zone_visits(samples, zones, max_gap_s=max_gap_s))}, final

    return await _cached(state, (task_id, "dwell", max_gap_s), compute)  # type: ignore[no-any-return]


@router.get("/occupancy")
async def occupancy(
    task_id: TaskId, user: Viewer, state: State, bucket_s: float = Query(default=1.0, ge=0.1, le=3600)
) -> dict[str, Any]:
    async def compute() -> tuple[dict[str, Any], bool]:
        samples, zones, final = await _inputs(state, task_id)
        series = occupancy_series(samples, zones, bucket_s=bucket_s)
        return {
            "task_id": task_id,
            "bucket_s": bucket_s,
            "zones": {name: [{"t": t, "max_people": n} for t, n in points] for name, points in series.items()},
        }, final

    return await _cached(state, (task_id, "occupancy", bucket_s), compute)  # type: ignore[no-any-return]
