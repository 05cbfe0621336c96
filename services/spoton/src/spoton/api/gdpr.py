"""GDPR: export everything held about one global person, or erase it everywhere (admin only).

Erasure removes the person's detections, tracks, gallery embedding and person row, the task's
export files (they contain the person), and cached analytics; an audit entry records who did it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import delete, select

from spoton.api.deps import Admin, DbId, State
from spoton.api.tracking import detection_dict
from spoton.db import Detection, GlobalPerson, TrackRecord, record_audit
from spoton.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/gdpr/persons", tags=["gdpr"])


@router.get("/{person_id}")
async def export_person(person_id: DbId, admin: Admin, state: State) -> dict[str, Any]:
    async with state.db.session() as session:
        person = await session.get(GlobalPerson, person_id)
        if person is None:
            raise NotFoundError("person", person_id)
        tracks = (
            await session.execute(select(TrackRecord).where(TrackRecord.global_person_id == person_id))
        ).scalars().all()  # fmt: skip
        detections = (
            await session.execute(
                select(Detection).where(Detection.global_person_id == person_id).order_by(Detection.frame)
            )
        ).scalars().all()  # fmt: skip
        record_audit(session, actor=admin.username, action="gdpr.export", target=f"person:{person_id}",
                     client_ip=admin.client_ip)  # fmt: skip
        await session.commit()
    return {
        "person": {
            "id": person.id, "task_id": person.task_id, "label": person.label, "cameras": person.cameras,
            "first_seen_s": person.first_seen_s, "last_seen_s": person.last_seen_s, "embedding": person.embedding,
        },
        "tracks": [
            {"camera": t.camera, "track_id": t.track_id, "first_frame": t.first_frame, "last_frame": t.last_frame,
             "link_confidence": t.link_confidence, "link_reason": t.link_reason}
            for t in tracks
        ],
        "detections": [detection_dict(d) for d in detections],
    }  # fmt: skip


@router.delete("/{person_id}")
async def erase_person(person_id: DbId, admin: Admin, state: State) -> dict[str, Any]:
    async with state.db.session() as session:
        person = await session.get(GlobalPerson, person_id)
        if person is None:
            raise NotFoundError("person", person_id)
        task_id = person.task_id
        removed_detections = (
            await session.execute(delete(Detection).where(Detection.global_person_id == person_id))
        ).rowcount  # type: ignore[attr-defined]
        removed_tracks = (
            await session.execute(delete(TrackRecord).where(TrackRecord.global_person_id == person_id))
        ).rowcount  # type: ignore[attr-defined]
        await session.execute(delete(GlobalPerson).where(GlobalPerson.id == person_id))
        counts = {"detections": removed_detections, "tracks": removed_tracks, "persons": 1}
        await session.commit()
    counts["export_files"] = await state.exports.erase_task_exports(task_id)
    counts["cache_entries"] = sum(len(c) for c in state.caches.values())
    for cache in state.caches.values():
        cache.clear()
    async with state.db.session() as session:
        record_audit(session, actor=admin.username, action="gdpr.erase", target=f"person:{person_id}",
                     details={"task_id": task_id, "removed": counts}, client_ip=admin.client_ip)  # fmt: skip
        await session.commit()
    return {"person_id": person_id, "erased": True, "removed": counts}
