"""Processing jobs: one job function (`run_processing_job`), two runners.

- `JobManager` (JOB_BACKEND=inprocess, the default): an asyncio task per job in this process,
  CPU work on a shared thread pool, at most MAX_CONCURRENT_TASKS at once.
- `spoton.pipeline.queue` (JOB_BACKEND=dramatiq): the API enqueues the task id on Dramatiq's Redis
  broker and `spoton worker` processes run the very same `run_processing_job`.

The event loop orchestrates (reads the next frames, fans cameras out to the pool, links global
ids, stores rows in batches, publishes live state); it never waits for a WebSocket client. A job
first claims its task (queued → running) so a redelivered message never runs it twice, refreshes
its lease while it runs (see `lease`), and honours stop requests between frames.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from spoton.db import Database, Detection, GlobalPerson, Task, TrackRecord, utcnow
from spoton.errors import LiveStateUnavailableError
from spoton.geometry import Homography
from spoton.logs import log
from spoton.pipeline.broadcast import Broadcaster
from spoton.pipeline.lease import ACTIVE, cancel, heartbeat, new_worker_id, reap_lost_jobs, run_every
from spoton.pipeline.linker import GlobalLinker
from spoton.pipeline.live import LiveState, MemoryLiveState
from spoton.pipeline.models import ModelSuite
from spoton.pipeline.processor import CameraFrame, FrameProcessor, StageTimes
from spoton.pipeline.refinement import apply_refinement
from spoton.pipeline.sources import FrameSource
from spoton.pipeline.specs import build_job, spec_topology
from spoton.reid import CameraTopology

__all__ = [
    "JobCounters",
    "JobManager",
    "JobRuntime",
    "JobStatus",
    "LeaseKeeper",
    "request_task_stop",
    "run_processing_job",
]

FLUSH_EVERY_FRAMES = 10
SKIPPED = "skipped"


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    FINAL = frozenset({"completed", "failed", "stopped"})


@dataclass
class JobCounters:
    """Hooks into the service metrics (no-ops when metrics are off)."""

    frames: Callable[[int], None] = lambda n: None
    detections: Callable[[int], None] = lambda n: None
    finished: Callable[[str], None] = lambda status: None
    live_errors: Callable[[int], None] = lambda n: None


@dataclass
class JobRuntime:
    """What a job needs wherever it runs (an API process or a queue worker)."""

    db: Database
    suite: ModelSuite | None  # None in an API process that only reaps (queue backend)
    live: LiveState
    pool: ThreadPoolExecutor
    counters: JobCounters = field(default_factory=JobCounters)
    worker_id: str = field(default_factory=new_worker_id)
    object_store: Any = None
    owned: set[str] = field(default_factory=set)  # tasks whose lease this runtime refreshes
    lost: set[str] = field(default_factory=set)  # tasks reaped or stopped elsewhere: abandon them
    local_stops: set[str] = field(default_factory=set)
    shutting_down: bool = False
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)
    live_down: bool = False  # log an outage once, not once per frame

    async def refresh_leases(self) -> None:
        self.lost |= await heartbeat(self.db, self.worker_id, set(self.owned))

    async def live_call(self, call: Awaitable[Any], default: Any = None) -> Any:
        """Best-effort live state: a Redis outage is counted and logged, the job carries on."""
        try:
            result = await call
        except LiveStateUnavailableError as error:
            self.counters.live_errors(1)
            if not self.live_down:
                log.warning("live state unavailable; jobs continue without it", error=str(error))
            self.live_down = True
            return default
        if self.live_down:
            log.info("live state reachable again")
            self.live_down = False
        return result

    def must_stop(self, task_id: str) -> bool:
        return self.shutting_down or task_id in self.local_stops or task_id in self.lost


async def request_task_stop(db: Database, live: LiveState, task_id: str) -> bool:
    """Stop a task wherever it runs: a queued one is stopped at once, a running one between frames.

    Raises LiveStateUnavailableError when the stop cannot be delivered; returns whether it was queued.
    """
    await live.request_stop(task_id)
    async with db.session() as session:
        result = await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == JobStatus.QUEUED)
            .values(status=JobStatus.STOPPED, finished_at=utcnow())
        )
        await session.commit()
    was_queued = bool(result.rowcount)  # type: ignore[attr-defined]
    if was_queued:
        await live.publish(task_id, {"type": "end", "task_id": task_id, "status": JobStatus.STOPPED})
    return was_queued


async def _claim(runtime: JobRuntime, task_id: str) -> Task | None:
    """queued → running, owned by this runtime; None when another runner had it or it was stopped."""
    async with runtime.db.session() as session:
        now = utcnow()
        result = await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, worker=runtime.worker_id, heartbeat_at=now, started_at=now)
        )
        await session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return await session.get(Task, task_id)


async def run_processing_job(
    runtime: JobRuntime,
    task_id: str,
    make_source: Callable[[], FrameSource] | None = None,
    homographies: dict[str, Homography | None] | None = None,
    topology: CameraTopology | None = None,
) -> str:
    """Run one processing task to its end; return its final status (or "skipped" if not ours).

    Without `make_source`, the source, homographies and camera topology come from the task's job spec.
    """
    task = await _claim(runtime, task_id)
    if task is None:
        log.info("job skipped: task is not queued (stopped, or taken by another runner)", task_id=task_id)
        return SKIPPED
    runtime.owned.add(task_id)
    status, error = JobStatus.FAILED, None
    stats: dict[str, Any] = {}
    frames_done = 0
    try:
        if make_source is None:
            make_source, homographies = build_job(task.job_spec or {}, runtime.object_store)
            topology = spec_topology(task.job_spec or {})
        if await runtime.live_call(runtime.live.stop_requested(task_id), False):
            status = JobStatus.STOPPED
        else:
            loop = asyncio.get_running_loop()
            source = await loop.run_in_executor(runtime.pool, make_source)
            try:
                started_at = task.started_at or utcnow()
                status, stats, frames_done = await _process(
                    runtime, task_id, started_at, source, homographies or {}, topology
                )
            finally:
                source.close()
    except Exception as exc:  # a job failure is recorded on the task, never crashes the runner
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("job failed", task_id=task_id, error=error)
    finally:
        if task_id in runtime.lost and not runtime.shutting_down:
            status = "lost"
        else:
            if runtime.shutting_down and status == JobStatus.STOPPED and task_id not in runtime.local_stops:
                status, error = JobStatus.FAILED, "interrupted: the worker shut down mid-job (service restart)"
            try:
                await _finish(runtime, task_id, status, error, stats, frames_done)
            except Exception as exc:
                log.warning("could not record the end of a job", task_id=task_id, error=str(exc))
        runtime.owned.discard(task_id)
        runtime.lost.discard(task_id)
        runtime.local_stops.discard(task_id)
        runtime.progress.pop(task_id, None)
        if status != "lost":
            end = {"type": "end", "task_id": task_id, "status": status}
            await runtime.live_call(runtime.live.publish(task_id, end))
            runtime.counters.finished(status)
        await runtime.live_call(runtime.live.forget(task_id))
    return status


async def _process(
    runtime: JobRuntime,
    task_id: str,
    started_at: dt.datetime,
    source: FrameSource,
    homographies: dict[str, Homography | None],
    topology: CameraTopology | None = None,
) -> tuple[str, dict[str, Any], int]:
    loop = asyncio.get_running_loop()
    pool, suite = runtime.pool, runtime.suite
    if suite is None:
        raise RuntimeError("this runtime has no models; processing jobs run in a worker")
    linker = GlobalLinker(topology=topology)  # topology-gated re-id when the environment has one
    processor = await loop.run_in_executor(
        pool, lambda: FrameProcessor(suite, source.cameras, source.camera_fps, homographies, linker=linker)
    )
    total = source.num_frames
    clock_start = time.perf_counter()
    async with runtime.db.session() as session:
        await session.execute(update(Task).where(Task.id == task_id).values(frames_total=total))
        await session.commit()
    frames: Iterator[tuple[int, float, dict[str, Any]]] = source.frames()
    person_ids: dict[int, int] = {}  # linker label -> global_persons.id
    tracks: dict[tuple[str, int], list[int]] = {}  # (camera, track) -> [first, last]
    pending: list[dict[str, Any]] = []
    times = StageTimes()
    status = JobStatus.COMPLETED
    done = 0
    stop_seen = False
    while True:
        if stop_seen or runtime.must_stop(task_id):
            status = JobStatus.STOPPED
            break
        t0 = time.perf_counter()
        item = await loop.run_in_executor(pool, next, frames, None)
        if item is None:
            break
        frame_no, ts, images = item
        times.add("decode", time.perf_counter() - t0)
        results: list[CameraFrame] = await asyncio.gather(
            *(loop.run_in_executor(pool, processor.process_camera, cam, img) for cam, img in images.items())
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
            person_ids.update(await _create_persons(runtime.db, task_id, new_labels, ts))
        observed_at = started_at + dt.timedelta(seconds=float(ts))
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
                        "task_id": task_id, "camera": cf.camera, "frame": frame_no, "ts": ts,
                        "observed_at": observed_at, "track_id": tid, "global_person_id": pid,
                        "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                        "confidence": conf, "floor_x": fx, "floor_y": fy,
                    }
                )  # fmt: skip
                message_tracks.append(
                    {
                        "camera": cf.camera, "track_id": tid, "global_id": pid, "bbox": [x1, y1, x2, y2],
                        "confidence": conf, "floor": None if fx is None else [fx, fy],
                    }
                )  # fmt: skip
        done = frame_no
        runtime.progress[task_id] = (done, total)
        times.frames = frame_no
        if frame_no % FLUSH_EVERY_FRAMES == 0:
            await _flush(runtime.db, task_id, done, pending)
            pending = []
        times.add("store", time.perf_counter() - t2)
        t3 = time.perf_counter()
        message = {"type": "frame", "task_id": task_id, "frame": frame_no, "ts": ts,
                   "cameras": list(images), "tracks": message_tracks}  # fmt: skip
        # Raw images only for WebSocket clients of this process that asked for them (each encodes JPEG).
        local_images = images if runtime.live.broadcaster.wants_frames(task_id) else None
        published = runtime.live.publish_frame(task_id, message, done, total, local_images)
        stop_seen = bool(await runtime.live_call(published, False))
        times.add("push", time.perf_counter() - t3)
        runtime.counters.frames(len(images))
        runtime.counters.detections(len(message_tracks))
    await _flush(runtime.db, task_id, done, pending)
    elapsed = time.perf_counter() - clock_start
    refined_moves = await apply_refinement(runtime.db, task_id, processor.linker, person_ids)
    await _store_tracks(runtime.db, task_id, processor, person_ids, tracks)
    stats = {
        "frames": done,
        "cameras": list(source.cameras),
        "seconds": round(elapsed, 3),
        "fps_per_camera": round(done / elapsed, 2) if elapsed > 0 else None,
        "stage_ms_per_frame": times.mean_ms(),
        "global_persons": len(person_ids),
        "local_tracks": len(tracks),
        "refined_moves": refined_moves,
    }
    return status, stats, done


async def _create_persons(db: Database, task_id: str, labels: set[int], ts: float) -> dict[int, int]:
    async with db.session() as session:
        rows = [GlobalPerson(task_id=task_id, label=label, first_seen_s=ts, last_seen_s=ts) for label in labels]
        session.add_all(rows)
        await session.commit()
        return {row.label: row.id for row in rows}


async def _flush(db: Database, task_id: str, done: int, rows: list[dict[str, Any]]) -> None:
    async with db.session() as session:
        if rows:
            await session.execute(insert(Detection), rows)
        await session.execute(update(Task).where(Task.id == task_id).values(frames_done=done))
        await session.commit()


async def _store_tracks(
    db: Database,
    task_id: str,
    processor: FrameProcessor,
    person_ids: dict[int, int],
    tracks: dict[tuple[str, int], list[int]],
) -> None:
    linker = processor.linker
    async with db.session() as session:
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


async def _finish(
    runtime: JobRuntime, task_id: str, status: str, error: str | None, stats: dict[str, Any], frames_done: int
) -> None:
    """Record the outcome, only while this runtime still owns the task (a reaped task stays failed)."""
    values: dict[str, Any] = {"status": status, "error": error, "stats": stats, "finished_at": utcnow()}
    if frames_done:
        values["frames_done"] = frames_done
    async with runtime.db.session() as session:
        await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.worker == runtime.worker_id, Task.status == JobStatus.RUNNING)
            .values(**values)
        )
        await session.commit()


class LeaseKeeper:
    """Periodic chores every runner shares: refresh our leases, fail tasks whose lease expired."""

    def __init__(self, runtime: JobRuntime, *, heartbeat_s: float, lease_s: float) -> None:
        self.runtime = runtime
        self.heartbeat_s = heartbeat_s
        self.lease_s = lease_s
        self._loops: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._loops:
            return
        self._loops = [
            asyncio.create_task(run_every(self.heartbeat_s, self.runtime.refresh_leases, "heartbeat")),
            asyncio.create_task(run_every(max(self.lease_s / 3, 0.2), self.reap, "reaper")),
        ]

    async def reap(self) -> int:
        ids = await reap_lost_jobs(self.runtime.db, self.lease_s)
        for task_id in ids:
            log.warning("failed a job whose worker stopped heart-beating", task_id=task_id, lease_s=self.lease_s)
            end = {"type": "end", "task_id": task_id, "status": JobStatus.FAILED}
            await self.runtime.live_call(self.runtime.live.publish(task_id, end))
        return len(ids)

    async def stop(self) -> None:
        for loop in self._loops:
            await cancel(loop)
        self._loops = []


@dataclass
class _Handle:
    task_id: str
    job: asyncio.Task[str] | None = None


class JobManager:
    """The in-process runner (JOB_BACKEND=inprocess)."""

    kind = "inprocess"

    def __init__(
        self,
        db: Database,
        suite: ModelSuite,
        live: LiveState | Broadcaster,
        *,
        max_concurrent: int = 2,
        threads: int = 4,
        counters: JobCounters | None = None,
        heartbeat_s: float = 5.0,
        lease_s: float = 30.0,
        object_store: Any = None,
    ) -> None:
        self.db = db
        self.suite = suite
        self.live: LiveState = MemoryLiveState(live) if isinstance(live, Broadcaster) else live
        self.broadcaster = self.live.broadcaster
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spoton-job")
        self.runtime = JobRuntime(db, suite, self.live, self.pool, counters or JobCounters(), object_store=object_store)
        self.counters = self.runtime.counters
        self.leases = LeaseKeeper(self.runtime, heartbeat_s=heartbeat_s, lease_s=lease_s)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._handles: dict[str, _Handle] = {}

    # --- lifecycle ------------------------------------------------------------------------
    async def recover(self) -> int:
        """Fail the tasks a dead process left behind (lease expired, or running without one)."""
        self.leases.start()
        return await self.leases.reap()

    def start(
        self,
        task_id: str,
        make_source: Callable[[], FrameSource] | None = None,
        homographies: dict[str, Homography | None] | None = None,
        topology: CameraTopology | None = None,
    ) -> None:
        """Run a queued task here; without `make_source` the source comes from the task's job spec."""
        self.leases.start()
        handle = _Handle(task_id)
        self._handles[task_id] = handle
        handle.job = asyncio.create_task(
            self._run(task_id, make_source, homographies, topology), name=f"spoton-job-{task_id}"
        )

    async def submit(self, task_id: str) -> None:
        self.start(task_id)

    async def request_stop(self, task_id: str) -> bool:
        self.runtime.local_stops.add(task_id)  # noticed between frames even if Redis is down
        try:
            return await request_task_stop(self.db, self.live, task_id)
        except LiveStateUnavailableError:
            if task_id in self._handles:  # ours: the local flag is enough
                return False
            raise

    def active(self) -> list[str]:
        return list(self._handles)

    def progress(self, task_id: str) -> tuple[int, int] | None:
        return self.runtime.progress.get(task_id)

    async def wait(self, task_id: str) -> None:
        handle = self._handles.get(task_id)
        if handle is not None and handle.job is not None:
            await asyncio.shield(handle.job)

    async def shutdown(self, grace_s: float = 10.0) -> None:
        self.runtime.shutting_down = True
        jobs = [h.job for h in self._handles.values() if h.job is not None]
        if jobs:
            await asyncio.wait(jobs, timeout=grace_s)
        await self.leases.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def _run(
        self,
        task_id: str,
        make_source: Callable[[], FrameSource] | None,
        homographies: dict[str, Homography | None] | None,
        topology: CameraTopology | None = None,
    ) -> str:
        try:
            # While it waits for a slot the task is ours: lease it so a dead process is noticed.
            async with self.db.session() as session:
                await session.execute(
                    update(Task)
                    .where(Task.id == task_id, Task.status == JobStatus.QUEUED)
                    .values(worker=self.runtime.worker_id, heartbeat_at=utcnow())
                )
                await session.commit()
            self.runtime.owned.add(task_id)
            async with self._slots:
                if self.runtime.must_stop(task_id):
                    async with self.db.session() as session:
                        await session.execute(
                            update(Task)
                            .where(Task.id == task_id, Task.status.in_(ACTIVE))
                            .values(status=JobStatus.STOPPED, finished_at=utcnow())
                        )
                        await session.commit()
                    end = {"type": "end", "task_id": task_id, "status": JobStatus.STOPPED}
                    await self.runtime.live_call(self.live.publish(task_id, end))
                    return JobStatus.STOPPED
                return await run_processing_job(self.runtime, task_id, make_source, homographies, topology)
        finally:
            self.runtime.owned.discard(task_id)
            self._handles.pop(task_id, None)


async def task_status(db: Database, task_id: str) -> str | None:
    async with db.session() as session:
        return (await session.execute(select(Task.status).where(Task.id == task_id))).scalar_one_or_none()
