"""In-process processing jobs: an asyncio task per job, CPU work on a shared thread pool.

The event loop orchestrates (reads the next frames, fans cameras out to the pool, links global
ids, stores rows in batches, publishes live messages); it never waits for a WebSocket client.
A stop request is honoured between frames; a restart marks jobs left running as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from spoton.db import Database, Detection, GlobalPerson, Task, TrackRecord, utcnow
from spoton.geometry import Homography
from spoton.logs import log
from spoton.pipeline.broadcast import Broadcaster
from spoton.pipeline.linker import GlobalLinker
from spoton.pipeline.models import ModelSuite
from spoton.pipeline.processor import CameraFrame, FrameProcessor, StageTimes
from spoton.pipeline.refinement import apply_refinement
from spoton.pipeline.sources import FrameSource
from spoton.reid import CameraTopology

__all__ = ["JobManager", "JobStatus"]

FLUSH_EVERY_FRAMES = 10


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    FINAL = frozenset({"completed", "failed", "stopped"})


@dataclass
class _Handle:
    task_id: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    job: asyncio.Task[None] | None = None
    frames_done: int = 0
    frames_total: int = 0
    started: float = 0.0


@dataclass
class JobCounters:
    """Hooks into the service metrics (no-ops when metrics are off)."""

    frames: Callable[[int], None] = lambda n: None
    detections: Callable[[int], None] = lambda n: None
    finished: Callable[[str], None] = lambda status: None


class JobManager:
    def __init__(
        self,
        db: Database,
        suite: ModelSuite,
        broadcaster: Broadcaster,
        *,
        max_concurrent: int = 2,
        threads: int = 4,
        counters: JobCounters | None = None,
    ) -> None:
        self.db = db
        self.suite = suite
        self.broadcaster = broadcaster
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spoton-job")
        self._slots = asyncio.Semaphore(max_concurrent)
        self._handles: dict[str, _Handle] = {}
        self.counters = counters or JobCounters()

    # --- lifecycle ------------------------------------------------------------------------
    async def recover(self) -> int:
        """Mark jobs a previous process left queued or running as failed; return how many."""
        async with self.db.session() as session:
            result = await session.execute(
                update(Task)
                .where(Task.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                .values(status=JobStatus.FAILED, error="interrupted by a service restart", finished_at=utcnow())
            )
            await session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def start(
        self,
        task_id: str,
        make_source: Callable[[], FrameSource],
        homographies: dict[str, Homography | None],
        topology: CameraTopology | None = None,
    ) -> None:
        handle = _Handle(task_id)
        self._handles[task_id] = handle
        handle.job = asyncio.create_task(
            self._run(handle, make_source, homographies, topology), name=f"spoton-job-{task_id}"
        )

    def request_stop(self, task_id: str) -> bool:
        handle = self._handles.get(task_id)
        if handle is None:
            return False
        handle.stop.set()
        return True

    def active(self) -> list[str]:
        return list(self._handles)

    def progress(self, task_id: str) -> tuple[int, int] | None:
        handle = self._handles.get(task_id)
        return None if handle is None else (handle.frames_done, handle.frames_total)

    async def wait(self, task_id: str) -> None:
        handle = self._handles.get(task_id)
        if handle is not None and handle.job is not None:
            await asyncio.shield(handle.job)

    async def shutdown(self, grace_s: float = 10.0) -> None:
        for handle in self._handles.values():
            handle.stop.set()
        jobs = [h.job for h in self._handles.values() if h.job is not None]
        if jobs:
            await asyncio.wait(jobs, timeout=grace_s)
        self.pool.shutdown(wait=False, cancel_futures=True)

    # --- the job --------------------------------------------------------------------------
    async def _run(
        self,
        handle: _Handle,
        make_source: Callable[[], FrameSource],
        homographies: dict[str, Homography | None],
        topology: CameraTopology | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        status, error = JobStatus.FAILED, None
        stats: dict[str, Any] = {}
        try:
            async with self._slots:
                if handle.stop.is_set():
                    status = JobStatus.STOPPED
                    return
                source = await loop.run_in_executor(self.pool, make_source)
                try:
                    status, stats = await self._process(handle, source, homographies, topology)
                finally:
                    source.close()
        except Exception as exc:  # a job failure is recorded on the task, never crashes the service
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("job failed", task_id=handle.task_id, error=error)
        finally:
            with contextlib.suppress(Exception):
                await self._finish(handle, status, error, stats)
            self.broadcaster.publish(handle.task_id, {"type": "end", "task_id": handle.task_id, "status": status})
            self.counters.finished(status)
            self._handles.pop(handle.task_id, None)

    async def _process(
        self,
        handle: _Handle,
        source: FrameSource,
        homographies: dict[str, Homography | None],
        topology: CameraTopology | None = None,
    ) -> tuple[str, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        linker = GlobalLinker(topology=topology)
        processor = await loop.run_in_executor(
            self.pool,
            lambda: FrameProcessor(self.suite, source.cameras, source.camera_fps, homographies, linker=linker),
        )
        handle.frames_total = source.num_frames
        handle.started = time.perf_counter()
        async with self.db.session() as session:
            await session.execute(
                update(Task)
                .where(Task.id == handle.task_id)
                .values(status=JobStatus.RUNNING, started_at=utcnow(), frames_total=source.num_frames)
            )
            await session.commit()
        frames: Iterator[tuple[int, float, dict[str, Any]]] = source.frames()
        person_ids: dict[int, int] = {}  # linker label -> global_persons.id
        tracks: dict[tuple[str, int], list[int]] = {}  # (camera, track) -> [first, last]
        pending: list[dict[str, Any]] = []
        times = StageTimes()
        status = JobStatus.COMPLETED
        while True:
            if handle.stop.is_set():
                status = JobStatus.STOPPED
                break
            t0 = time.perf_counter()
            item = await loop.run_in_executor(self.pool, next, frames, None)
            if item is None:
                break
            frame_no, ts, images = item
            times.add("decode", time.perf_counter() - t0)
            results: list[CameraFrame] = await asyncio.gather(
                *(loop.run_in_executor(self.pool, processor.process_camera, cam, img) for cam, img in images.items())
            )
            for cf in results:  # per-camera mean cost of each stage
                for stage, secs in cf.seconds.items():
                    times.add(stage, secs / len(results))
            t1 = time.perf_counter()
            links = processor.link(ts, results)
            times.add("fuse", time.perf_counter() - t1)
            t2 = time.perf_counter()
            new_labels = {link.label for per_cam in links for link in per_cam} - person_ids.keys()
            if new_labels:
                person_ids.update(await self._create_persons(handle.task_id, new_labels, ts))
            message_tracks = []
            for cf, cam_links in zip(results, links, strict=True):
                for i, link in enumerate(cam_links):
                    tid = int(cf.track_id[i])
                    span = tracks.setdefault((cf.camera, tid), [frame_no, frame_no])
                    span[1] = frame_no
                    x1, y1, x2, y2 = (round(float(v), 2) for v in cf.xyxy[i])
                    fx = fy = None
                    if cf.floor is not None and np.isfinite(cf.floor[i]).all():
                        fx, fy = round(float(cf.floor[i, 0]), 3), round(float(cf.floor[i, 1]), 3)
                    pid = person_ids[link.label]
                    conf = round(float(cf.confidence[i]), 4)
                    pending.append(
                        {
                            "task_id": handle.task_id, "camera": cf.camera, "frame": frame_no, "ts": ts,
                            "track_id": tid, "global_person_id": pid, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                            "confidence": conf, "floor_x": fx, "floor_y": fy,
                        }
                    )  # fmt: skip
                    message_tracks.append(
                        {
                            "camera": cf.camera, "track_id": tid, "global_id": pid, "bbox": [x1, y1, x2, y2],
                            "confidence": conf, "floor": None if fx is None else [fx, fy],
                        }
                    )  # fmt: skip
            handle.frames_done = frame_no
            times.frames = frame_no
            if frame_no % FLUSH_EVERY_FRAMES == 0:
                await self._flush(handle, pending)
                pending = []
            times.add("store", time.perf_counter() - t2)
            t3 = time.perf_counter()
            live = {"type": "frame", "task_id": handle.task_id, "frame": frame_no, "ts": ts, "tracks": message_tracks}
            if self.broadcaster.wants_frames(handle.task_id):
                live["images"] = images  # raw; each WebSocket client encodes JPEG off the loop, if it keeps up
            self.broadcaster.publish(handle.task_id, live)
            times.add("push", time.perf_counter() - t3)
            self.counters.frames(len(images))
            self.counters.detections(len(message_tracks))
        await self._flush(handle, pending)
        elapsed = time.perf_counter() - handle.started
        refined_moves = await apply_refinement(self.db, handle.task_id, processor.linker, person_ids)
        await self._store_tracks(handle.task_id, processor, person_ids, tracks)
        stats = {
            "frames": handle.frames_done,
            "cameras": list(source.cameras),
            "seconds": round(elapsed, 3),
            "fps_per_camera": round(handle.frames_done / elapsed, 2) if elapsed > 0 else None,
            "stage_ms_per_frame": times.mean_ms(),
            "global_persons": len(person_ids),
            "local_tracks": len(tracks),
            "refined_moves": refined_moves,
        }
        return status, stats

    async def _create_persons(self, task_id: str, labels: set[int], ts: float) -> dict[int, int]:
        async with self.db.session() as session:
            rows = [GlobalPerson(task_id=task_id, label=label, first_seen_s=ts, last_seen_s=ts) for label in labels]
            session.add_all(rows)
            await session.commit()
            return {row.label: row.id for row in rows}

    async def _flush(self, handle: _Handle, rows: list[dict[str, Any]]) -> None:
        async with self.db.session() as session:
            if rows:
                await session.execute(insert(Detection), rows)
            await session.execute(update(Task).where(Task.id == handle.task_id).values(frames_done=handle.frames_done))
            await session.commit()

    async def _store_tracks(
        self,
        task_id: str,
        processor: FrameProcessor,
        person_ids: dict[int, int],
        tracks: dict[tuple[str, int], list[int]],
    ) -> None:
        linker = processor.linker
        async with self.db.session() as session:
            for label, pid in person_ids.items():
                person = linker.persons.get(label)
                if person is None:
                    continue
                await session.execute(
                    update(GlobalPerson)
                    .where(GlobalPerson.id == pid)
                    .values(
                        first_seen_s=person.first_seen_s,
                        last_seen_s=person.last_seen_s,
                        cameras=sorted(person.cameras),
                        embedding=None if person.embedding is None else [round(float(v), 5) for v in person.embedding],
                    )
                )
            records = []
            for (camera, tid), (first, last) in tracks.items():
                link = linker.assigned[(camera, tid)]
                records.append(
                    {
                        "task_id": task_id, "camera": camera, "track_id": tid,
                        "global_person_id": person_ids[link.label], "link_confidence": link.confidence,
                        "link_reason": link.reason, "first_frame": first, "last_frame": last,
                    }
                )  # fmt: skip
            if records:
                await session.execute(insert(TrackRecord), records)
            await session.commit()

    async def _finish(self, handle: _Handle, status: str, error: str | None, stats: dict[str, Any]) -> None:
        async with self.db.session() as session:
            task = (await session.execute(select(Task).where(Task.id == handle.task_id))).scalar_one_or_none()
            if task is None:
                return
            task.status = status
            task.error = error
            task.stats = stats
            task.frames_done = handle.frames_done
            task.finished_at = utcnow()
            await session.commit()
