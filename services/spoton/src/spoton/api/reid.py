"""Cross-camera identity links of a task: which local tracks make up each global person, and how sure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from spoton.api.deps import State, TaskId, Viewer
from spoton.api.tracking import require_task
from spoton.db import TrackRecord

__all__ = ["router"]

router = APIRouter(prefix="/tasks/{task_id}", tags=["tracking"])


@router.get("/links")
async def links(
    task_id: TaskId,
    user: Viewer,
    state: State,
    max_confidence: float = Query(default=1.0, ge=0, le=1, description="only persons with a link at most this sure"),
) -> dict[str, Any]:
    """Per global person: its local tracks (camera, frames) with the confidence and reason of each link.

    After a task, links are batch-refined with the environment's camera topology; `confidence` is
    that of the track's best supporting evidence within its person (floor overlap or appearance).
    """
    async with state.db.session() as session:
        await require_task(session, task_id)
        rows = (
            await session.execute(
                select(TrackRecord).where(TrackRecord.task_id == task_id)
                .order_by(TrackRecord.global_person_id, TrackRecord.first_frame, TrackRecord.camera)
            )
        ).scalars().all()  # fmt: skip
    persons: dict[int, list[dict[str, Any]]] = {}
    for t in rows:
        if t.global_person_id is None:
            continue
        persons.setdefault(t.global_person_id, []).append(
            {"camera": t.camera, "track_id": t.track_id, "first_frame": t.first_frame, "last_frame": t.last_frame,
             "confidence": t.link_confidence, "reason": t.link_reason}
        )  # fmt: skip
    out = []
    for pid, tracks in persons.items():
        weakest = min(t["confidence"] for t in tracks)
        if weakest <= max_confidence:
            cameras = sorted({t["camera"] for t in tracks})
            out.append({"person": pid, "cameras": cameras, "weakest_confidence": weakest, "tracks": tracks})
    return {"task_id": task_id, "persons": out}
