"""Analytics for a task: zone events, dwell, occupancy, tripwires, journeys, speeds, transitions, heatmap."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from spoton.analytics import (
    Sample,
    Sighting,
    Tripwire,
    Zone,
    dwell_summary,
    events_from_visits,
    floor_heatmap,
    occupancy_series,
    person_journeys,
    person_speeds,
    tripwire_counts,
    tripwire_crossings,
    zone_transitions,
    zone_visits,
)
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


async def _layout(state: AppState, task_id: str) -> tuple[list[Zone], list[Tripwire], bool]:
    """The task's environment zones and tripwires (either may be empty) and whether the task is final."""
    async with state.db.session() as session:
        task = await require_task(session, task_id)
        env = await session.get(Environment, task.environment_id) if task.environment_id is not None else None
    if env is None:
        return [], [], task.status in JobStatus.FINAL
    zones = [Zone.from_dict(z) for z in env.zones]
    wires = [Tripwire.from_dict(w) for w in (env.tripwires or [])]
    return zones, wires, task.status in JobStatus.FINAL


async def _floor_samples(state: AppState, task_id: str) -> list[Sample]:
    async with state.db.session() as session:
        rows = (
            await session.execute(
                select(Detection.global_person_id, Detection.ts, Detection.floor_x, Detection.floor_y).where(
                    Detection.task_id == task_id,
                    Detection.floor_x.is_not(None),
                    Detection.global_person_id.is_not(None),
                )
            )
        ).all()
    return [Sample(int(p), float(t), float(x), float(y)) for p, t, x, y in rows]  # type: ignore[arg-type]


@router.get("/tripwires")
async def tripwires(
    task_id: TaskId,
    user: Viewer,
    state: State,
    max_gap_s: float = Query(default=2.0, gt=0, le=600),
    hysteresis_m: float = Query(default=0.05, ge=0, le=5),
) -> dict[str, Any]:
    """Crossings per tripwire and direction, each global person counted once however many cameras see them."""

    async def compute() -> tuple[dict[str, Any], bool]:
        _, wires, final = await _layout(state, task_id)
        if not wires:
            raise InvalidInputError("tripwire counts need the task to belong to an environment with tripwires")
        crossings = tripwire_crossings(
            await _floor_samples(state, task_id), wires, max_gap_s=max_gap_s, hysteresis_m=hysteresis_m
        )
        body = {
            "task_id": task_id,
            "counts": tripwire_counts(crossings, wires),
            "crossings": [
                {"person": c.person, "tripwire": c.tripwire, "direction": c.direction, "ts": c.ts} for c in crossings
            ],
        }
        return body, final

    return await _cached(state, (task_id, "tripwires", max_gap_s, hysteresis_m), compute)  # type: ignore[no-any-return]


@router.get("/journeys")
async def journeys(
    task_id: TaskId, user: Viewer, state: State, max_gap_s: float = Query(default=2.0, gt=0, le=600)
) -> dict[str, Any]:
    """Per global person: camera visits and zone visits in time order, and the path through the cameras."""

    async def compute() -> tuple[dict[str, Any], bool]:
        zones, _, final = await _layout(state, task_id)
        async with state.db.session() as session:
            rows = (
                await session.execute(
                    select(Detection.global_person_id, Detection.camera, Detection.ts)
                    .where(Detection.task_id == task_id, Detection.global_person_id.is_not(None))
                    .distinct()
                )
            ).all()
        sightings = [Sighting(int(p), c, float(t)) for p, c, t in rows]  # type: ignore[arg-type]
        visits = zone_visits(await _floor_samples(state, task_id), zones, max_gap_s=max_gap_s) if zones else []
        found = person_journeys(sightings, visits, max_gap_s=max_gap_s)
        return {"task_id": task_id, "persons": [j.to_dict() for j in found.values()]}, final

    return await _cached(state, (task_id, "journeys", max_gap_s), compute)  # type: ignore[no-any-return]


@router.get("/speeds")
async def speeds(
    task_id: TaskId,
    user: Viewer,
    state: State,
    window_s: float = Query(default=1.0, ge=0, le=60),
    max_gap_s: float = Query(default=2.0, gt=0, le=600),
) -> dict[str, Any]:
    """Walking speed per global person (m/s) from the floor trajectory, smoothed over `window_s`."""

    async def compute() -> tuple[dict[str, Any], bool]:
        _, _, final = await _layout(state, task_id)
        found = person_speeds(await _floor_samples(state, task_id), window_s=window_s, max_gap_s=max_gap_s)
        return {"task_id": task_id, "window_s": window_s, "persons": [s.to_dict() for s in found.values()]}, final

    return await _cached(state, (task_id, "speeds", window_s, max_gap_s), compute)  # type: ignore[no-any-return]


@router.get("/transitions")
async def transitions(
    task_id: TaskId, user: Viewer, state: State, max_gap_s: float = Query(default=2.0, gt=0, le=600)
) -> dict[str, Any]:
    """Zone-to-zone transition matrix: how often a visit of one zone is followed next by one of another."""

    async def compute() -> tuple[dict[str, Any], bool]:
        zones, _, final = await _layout(state, task_id)
        if not zones:
            raise InvalidInputError("transitions need the task to belong to an environment with zones")
        visits = zone_visits(await _floor_samples(state, task_id), zones, max_gap_s=max_gap_s)
        matrix = zone_transitions(visits, [z.name for z in zones])
        return {"task_id": task_id, **matrix.to_dict()}, final

    return await _cached(state, (task_id, "transitions", max_gap_s), compute)  # type: ignore[no-any-return]


@router.get("/heatmap")
async def heatmap(
    task_id: TaskId, user: Viewer, state: State, cell_m: float = Query(default=0.5, ge=0.05, le=50)
) -> dict[str, Any]:
    """Person-moments per floor cell (rows along y from `origin`, columns along x)."""

    async def compute() -> tuple[dict[str, Any], bool]:
        _, _, final = await _layout(state, task_id)
        grid = floor_heatmap(await _floor_samples(state, task_id), cell_m=cell_m)
        return {"task_id": task_id, **grid.to_dict()}, final

    return await _cached(state, (task_id, "heatmap", cell_m), compute)  # type: ignore[no-any-return]
