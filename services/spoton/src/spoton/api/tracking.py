"""Tracking data queries: per-frame boxes, local tracks, global persons and their floor trajectories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spoton.api.deps import INT32_MAX, DbId, FrameNo, State, TaskId, Viewer
from spoton.db import Detection, GlobalPerson, Task, TrackRecord
from spoton.errors import NotFoundError

__all__ = ["detection_dict", "router"]

router = APIRouter(prefix="/tasks/{task_id}", tags=["tracking"])


def detection_dict(d: Detection) -> dict[str, Any]:
    return {
        "camera": d.camera, "frame": d.frame, "ts": d.ts, "track_id": d.track_id,
        "global_person_id": d.global_person_id, "bbox": [d.x1, d.y1, d.x2, d.y2], "confidence": d.confidence,
        "floor": None if d.floor_x is None else [d.floor_x, d.floor_y],
    }  # fmt: skip


async def require_task(session: AsyncSession, task_id: str) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return task


@router.get("/detections")
async def detections(
    task_id: TaskId,
    user: Viewer,
    state: State,
    camera: str | None = Query(default=None, max_length=100),
    frame_from: int | None = Query(default=None, ge=0, le=INT32_MAX),
    frame_to: int | None = Query(default=None, ge=0, le=INT32_MAX),
    person: int | None = Query(default=None, ge=1, le=INT32_MAX),
    limit: int = Query(default=1000, ge=1, le=10_000),
    offset: int = Query(default=0, ge=0, le=INT32_MAX),
) -> dict[str, Any]:
    query = select(Detection).where(Detection.task_id == task_id)
    if camera is not None:
        query = query.where(Detection.camera == camera)
    if frame_from is not None:
        query = query.where(Detection.frame >= frame_from)
    if frame_to is not None:
        query = query.where(Detection.frame <= frame_to)
    if person is not None:
        query = query.where(Detection.global_person_id == person)
    async with state.db.session() as session:
        await require_task(session, task_id)
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = (
            await session.execute(query.order_by(Detection.frame, Detection.camera, Detection.track_id)
                                  .limit(limit).offset(offset))
        ).scalars().all()  # fmt: skip
    return {"total": total, "limit": limit, "offset": offset, "items": [detection_dict(d) for d in rows]}


@router.get("/frames/{frame}")
async def frame(task_id: TaskId, frame: FrameNo, user: Viewer, state: State) -> dict[str, Any]:
    async with state.db.session() as session:
        await require_task(session, task_id)
        rows = (
            await session.execute(
                select(Detection).where(Detection.task_id == task_id, Detection.frame == frame)
                .order_by(Detection.camera, Detection.track_id)
            )
        ).scalars().all()  # fmt: skip
    return {"task_id": task_id, "frame": frame, "tracks": [detection_dict(d) for d in rows]}


@router.get("/tracks")
async def tracks(task_id: TaskId, user: Viewer, state: State, camera: str | None = None) -> list[dict[str, Any]]:
    query = select(TrackRecord).where(TrackRecord.task_id == task_id)
    if camera is not None:
        query = query.where(TrackRecord.camera == camera)
    async with state.db.session() as session:
        await require_task(session, task_id)
        rows = (await session.execute(query.order_by(TrackRecord.camera, TrackRecord.track_id))).scalars().all()
    return [
        {"camera": t.camera, "track_id": t.track_id, "global_person_id": t.global_person_id,
         "link_confidence": t.link_confidence, "link_reason": t.link_reason,
         "first_frame": t.first_frame, "last_frame": t.last_frame}
        for t in rows
    ]  # fmt: skip


@router.get("/persons")
async def persons(task_id: TaskId, user: Viewer, state: State) -> list[dict[str, Any]]:
    async with state.db.session() as session:
        await require_task(session, task_id)
        rows = (
            await session.execute(select(GlobalPerson).where(GlobalPerson.task_id == task_id).order_by(GlobalPerson.id))
        ).scalars().all()  # fmt: skip
    return [
        {"id": p.id, "label": p.label, "first_seen_s": p.first_seen_s, "last_seen_s": p.last_seen_s,
         "cameras": p.cameras}
        for p in rows
    ]  # fmt: skip


@router.get("/persons/{person_id}/trajectory")
async def trajectory(task_id: TaskId, person_id: DbId, user: Viewer, state: State) -> dict[str, Any]:
    """Floor positions in metres, one per moment (cameras that see the person together are averaged)."""
    async with state.db.session() as session:
        await require_task(session, task_id)
        person = await session.get(GlobalPerson, person_id)
        if person is None or person.task_id != task_id:
            raise NotFoundError("person", person_id)
        rows = (
            await session.execute(
                select(Detection.ts, func.avg(Detection.floor_x), func.avg(Detection.floor_y), func.count())
                .where(Detection.global_person_id == person_id, Detection.floor_x.is_not(None))
                .group_by(Detection.ts).order_by(Detection.ts)
            )
        ).all()  # fmt: skip
    return {
        "person_id": person_id,
        "points": [{"ts": ts, "x": round(x, 3), "y": round(y, 3), "views": n} for ts, x, y, n in rows],
    }
