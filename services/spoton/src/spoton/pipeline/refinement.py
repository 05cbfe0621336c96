"""Apply the batch refinement of global ids to a finished job's stored rows."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, update

from spoton.db import Database, Detection, GlobalPerson
from spoton.pipeline.linker import GlobalLinker

__all__ = ["apply_refinement"]


async def apply_refinement(db: Database, task_id: str, linker: GlobalLinker, person_ids: dict[int, int]) -> int:
    """Refine `linker`'s links, re-point moved tracks' detections, add and drop persons; return moves.

    `person_ids` (linker label -> global_persons.id) is updated in place.
    """
    moved = await asyncio.to_thread(linker.refine)
    if not moved:
        return 0
    async with db.session() as session:
        fresh = sorted({linker.assigned[key].label for key in moved} - person_ids.keys())
        rows = [
            GlobalPerson(
                task_id=task_id, label=label, first_seen_s=linker.persons[label].first_seen_s,
                last_seen_s=linker.persons[label].last_seen_s,
            )
            for label in fresh
        ]  # fmt: skip
        session.add_all(rows)
        await session.flush()
        person_ids.update({row.label: row.id for row in rows})
        for camera, track_id in moved:
            await session.execute(
                update(Detection)
                .where(Detection.task_id == task_id, Detection.camera == camera, Detection.track_id == track_id)
                .values(global_person_id=person_ids[linker.assigned[(camera, track_id)].label])
            )
        gone = [label for label in person_ids if label not in linker.persons]
        if gone:  # their detections all moved above; nothing cascades away
            await session.execute(delete(GlobalPerson).where(GlobalPerson.id.in_([person_ids[g] for g in gone])))
            for label in gone:
                del person_ids[label]
        await session.commit()
    return len(moved)
