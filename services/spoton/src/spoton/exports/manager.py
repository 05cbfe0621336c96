"""Export jobs: written in the background to DATA_DIR/exports, downloadable until they expire."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select

from spoton.analytics import Tripwire, Zone
from spoton.db import Database, Detection, Environment, ExportJob, Task, utcnow
from spoton.errors import ExpiredError, NotFoundError
from spoton.exports.frames import TaskFrames
from spoton.exports.report import ReportInput, write_report
from spoton.exports.video import write_annotated_video
from spoton.exports.writers import EXPORT_COLUMNS, write_export
from spoton.logs import log

__all__ = ["ExportManager"]


class ExportManager:
    def __init__(self, db: Database, directory: Path, ttl: dt.timedelta, frames: TaskFrames | None = None) -> None:
        self.db = db
        self.directory = directory
        self.ttl = ttl
        self.frames = frames  # re-opens a task's video for the annotated MP4
        self._jobs: set[asyncio.Task[None]] = set()

    async def create(self, task_id: str, fmt: str, actor: str) -> ExportJob:
        async with self.db.session() as session:
            task = await session.get(Task, task_id)
            if task is None:
                raise NotFoundError("task", task_id)
            job = ExportJob(
                id=secrets.token_hex(16), task_id=task_id, format=fmt, status="pending", created_by=actor,
                expires_at=utcnow() + self.ttl,
            )  # fmt: skip
            session.add(job)
            await session.commit()
        runner = asyncio.create_task(self._write(job.id, task_id, fmt))
        self._jobs.add(runner)
        runner.add_done_callback(self._jobs.discard)
        return job

    async def wait_all(self) -> None:
        if self._jobs:
            await asyncio.wait(set(self._jobs))

    async def _write(self, export_id: str, task_id: str, fmt: str) -> None:
        status, path, size, error = "failed", None, None, None
        try:
            async with self.db.session() as session:
                columns = [getattr(Detection, c) for c in EXPORT_COLUMNS]
                rows = (
                    await session.execute(
                        select(*columns).where(Detection.task_id == task_id)
                        .order_by(Detection.camera, Detection.frame, Detection.track_id)
                    )
                ).all()  # fmt: skip
            self.directory.mkdir(parents=True, exist_ok=True)
            meta = {"task_id": task_id, "export_id": export_id}
            plain = [tuple(r) for r in rows]
            if fmt == "pdf":
                written = await self._write_report(task_id, plain, self.directory / f"{export_id}.pdf")
            elif fmt == "mp4":
                written = await self._write_video(task_id, plain, self.directory / f"{export_id}.mp4")
            else:
                written = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: write_export(fmt, plain, self.directory / export_id, meta=meta)
                )
            status, path, size = "ready", str(written), written.stat().st_size
        except Exception as exc:  # recorded on the export row; the service carries on
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("export failed", export_id=export_id, error=error)
        async with self.db.session() as session:
            job = await session.get(ExportJob, export_id)
            if job is None:  # erased meanwhile (GDPR): do not leave the file behind
                await asyncio.to_thread(_unlink, [path])
                return
            job.status, job.path, job.size_bytes, job.error = status, path, size, error
            await session.commit()

    async def _write_report(self, task_id: str, rows: list[tuple[object, ...]], target: Path) -> Path:
        async with self.db.session() as session:
            task = await session.get(Task, task_id)
            if task is None:
                raise NotFoundError("task", task_id)
            env = await session.get(Environment, task.environment_id) if task.environment_id is not None else None
        data = ReportInput(
            task={
                "id": task.id, "status": task.status, "source": task.source, "frames_done": task.frames_done,
                "stats": task.stats, "created_at": task.created_at.isoformat(timespec="seconds"),
                "finished_at": task.finished_at.isoformat(timespec="seconds") if task.finished_at else None,
            },
            rows=rows,
            zones=[Zone.from_dict(z) for z in env.zones] if env else [],
            tripwires=[Tripwire.from_dict(w) for w in (env.tripwires or [])] if env else [],
        )  # fmt: skip
        return await asyncio.to_thread(_atomically, target, lambda part: write_report(data, part))

    async def _write_video(self, task_id: str, rows: list[tuple[object, ...]], target: Path) -> Path:
        if self.frames is None:
            raise RuntimeError("annotated video export is not wired (no TaskFrames)")
        async with self.db.session() as session:
            task = await session.get(Task, task_id)
            if task is None:
                raise NotFoundError("task", task_id)
            kind, params = task.source, dict(task.params)
        index = [EXPORT_COLUMNS.index(c) for c in ("camera", "frame", "x1", "y1", "x2", "y2", "global_person_id")]
        boxes = [tuple(r[i] for i in index) for r in rows]
        frames = self.frames

        def write(part: Path) -> Path:
            return write_annotated_video(frames.source(kind, params), boxes, part)

        return await asyncio.to_thread(_atomically, target, write)

    async def get(self, export_id: str) -> ExportJob:
        async with self.db.session() as session:
            job = await session.get(ExportJob, export_id)
        if job is None:
            raise NotFoundError("export", export_id)
        return job

    async def file_for_download(self, export_id: str) -> tuple[ExportJob, Path]:
        job = await self.get(export_id)
        if job.expires_at <= utcnow() or job.status == "expired":
            await self.sweep()
            raise ExpiredError(f"export {export_id!r} expired at {job.expires_at.isoformat()}")
        if job.status != "ready" or job.path is None:
            raise NotFoundError("export file", export_id)
        return job, Path(job.path)

    async def sweep(self) -> int:
        """Delete the files of expired exports and mark them; return how many."""
        now = utcnow()
        async with self.db.session() as session:
            query = select(ExportJob).where(ExportJob.expires_at <= now, ExportJob.status != "expired")
            jobs = (await session.execute(query)).scalars().all()
            await asyncio.to_thread(_unlink, [job.path for job in jobs])
            for job in jobs:
                job.status, job.path = "expired", None
            await session.commit()
        return len(jobs)

    async def erase_task_exports(self, task_id: str) -> int:
        """Remove every export file and row of a task (they may hold an erased person's data)."""
        async with self.db.session() as session:
            jobs = (await session.execute(select(ExportJob).where(ExportJob.task_id == task_id))).scalars().all()
            await asyncio.to_thread(_unlink, [job.path for job in jobs])
            await session.execute(delete(ExportJob).where(ExportJob.task_id == task_id))
            await session.commit()
        return len(jobs)


def _atomically(target: Path, write: Callable[[Path], Path]) -> Path:
    """Write to a hidden sibling with the same suffix (writers pick the format by it), then rename."""
    part = target.with_name(f".{target.stem}.part{target.suffix}")
    try:
        write(part)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _unlink(paths: list[str | None]) -> None:
    for path in paths:
        if path:
            Path(path).unlink(missing_ok=True)
