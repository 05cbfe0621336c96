"""Processing tasks (start, status with progress, list, stop) and video uploads."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, UploadFile
from sqlalchemy import select, update

from spoton.adapters.object_store import validate_key
from spoton.api.deps import INT32_MAX, Operator, State, TaskId, Viewer
from spoton.api.schemas import TaskIn, TaskOut
from spoton.api.state import AppState
from spoton.db import Camera, Environment, Task, record_audit, utcnow
from spoton.errors import (
    FeatureDisabledError,
    InvalidInputError,
    InvalidVideoError,
    JobQueueUnavailableError,
    LiveStateUnavailableError,
    NotFoundError,
)
from spoton.geometry import Homography
from spoton.pipeline import JobStatus, MultiVideoSource, probe_video
from spoton.pipeline.specs import synthetic_spec, video_spec, videos_spec, with_topology
from spoton.reid import CameraTopology
from spoton.scene import demo_cameras

__all__ = ["router", "task_out"]

router = APIRouter(tags=["tasks"])

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


def task_out(task: Task, live: tuple[int, int] | None = None) -> TaskOut:
    done, total = live if live is not None else (task.frames_done, task.frames_total)
    progress = 1.0 if task.status == JobStatus.COMPLETED else (done / total if total else 0.0)
    return TaskOut(
        id=task.id, environment_id=task.environment_id, source=task.source, status=task.status,
        progress=round(min(progress, 1.0), 4), frames_done=done, frames_total=total, params=task.params,
        stats=task.stats, error=task.error, created_by=task.created_by, created_at=task.created_at,
        started_at=task.started_at, finished_at=task.finished_at,
    )  # fmt: skip


def _uploads(state: AppState) -> Path:
    path = state.settings.DATA_DIR / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.post("/videos", status_code=201)
async def upload_video(file: UploadFile, user: Operator, state: State) -> dict[str, Any]:
    """Store an uploaded video under a random name (the client's file name is never used as a path)."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise InvalidVideoError(f"video must be one of {', '.join(sorted(VIDEO_SUFFIXES))}; got {suffix or 'none'!r}")
    video_id = secrets.token_hex(16)
    target = _uploads(state) / f"{video_id}{suffix}"
    with target.open("wb") as out:
        while chunk := await file.read(1 << 20):
            out.write(chunk)
    try:
        info = await asyncio.get_running_loop().run_in_executor(None, probe_video, target)
    except InvalidVideoError:
        target.unlink(missing_ok=True)
        raise
    async with state.db.session() as session:
        record_audit(session, actor=user.username, action="video.upload", target=f"video:{video_id}",
                     details={"bytes": target.stat().st_size}, client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    return {"video_id": video_id, "width": info.width, "height": info.height, "fps": info.fps,
            "frames": info.frame_count}  # fmt: skip


async def _video_path(state: AppState, video_id: str | None, path: str | None, s3_key: str | None = None) -> Path:
    if sum(x is not None for x in (video_id, path, s3_key)) != 1:
        raise InvalidInputError("a video needs exactly one of video_id, path or s3_key")
    if s3_key is not None:
        if state.object_store is None:
            raise FeatureDisabledError("S3 is not configured: set S3_BUCKET_NAME (and S3_ENDPOINT_URL)")
        validate_key(s3_key)
        return await asyncio.to_thread(state.object_store.fetch, s3_key)  # type: ignore[no-any-return]
    if video_id is not None:
        matches = sorted(_uploads(state).glob(f"{video_id}.*"))
        if not matches:
            raise NotFoundError("video", video_id)
        return matches[0]
    root = state.settings.media_root.resolve()
    candidate = (root / str(path)).resolve()
    if not candidate.is_relative_to(root):
        raise InvalidInputError("path must stay inside MEDIA_ROOT")
    return candidate


async def _environment_homographies(state: AppState, env_id: int | None) -> dict[str, Homography | None]:
    if env_id is None:
        return {}
    async with state.db.session() as session:
        if await session.get(Environment, env_id) is None:
            raise NotFoundError("environment", env_id)
        cams = (await session.execute(select(Camera).where(Camera.environment_id == env_id))).scalars().all()
    return {c.name: None if c.homography is None else Homography(np.asarray(c.homography)) for c in cams}


async def _environment_topology(state: AppState, env_id: int | None) -> CameraTopology | None:
    if env_id is None:
        return None
    async with state.db.session() as session:
        env = await session.get(Environment, env_id)
    return None if env is None or not env.topology else CameraTopology.from_dict(env.topology)


@router.post("/tasks", response_model=TaskOut, status_code=202)
async def start_task(body: TaskIn, user: Operator, state: State) -> TaskOut:
    homographies = await _environment_homographies(state, body.environment_id)
    topology = await _environment_topology(state, body.environment_id)
    spec: dict[str, Any]
    if body.source == "synthetic":
        scene_cams = ("cam_a1", "cam_a2", "cam_b", "cam_c")
        cameras = tuple(body.cameras or scene_cams)
        unknown = set(cameras) - set(scene_cams)
        if unknown or len(set(cameras)) != len(cameras):
            raise InvalidInputError(f"synthetic cameras must be distinct names from {', '.join(scene_cams)}")
        params: dict[str, Any] = body.model_dump(include={"num_frames", "num_people", "seed", "width", "height"}) | {
            "cameras": list(cameras)
        }
        if body.environment_id is None:
            # No environment: use the scene's exact floor homographies.
            homographies = {c.name: Homography(c.image_to_floor) for c in demo_cameras(body.width, body.height)}
        scene_args = body.model_dump(include={"num_people", "num_frames", "seed", "width", "height"})
        spec = synthetic_spec(scene_args, list(cameras), homographies)
        frames_total = body.num_frames
    elif body.videos is not None:
        if body.video_id is not None or body.path is not None or body.s3_key is not None:
            raise InvalidInputError("give either videos or video_id/path/s3_key, not both")
        refs = [(v.camera, await _video_path(state, v.video_id, v.path, v.s3_key)) for v in body.videos]
        probe = await asyncio.get_running_loop().run_in_executor(None, MultiVideoSource, refs)
        params = {"videos": [v.model_dump() for v in body.videos], "max_frames": body.max_frames,
                  "camera_fps": probe.camera_fps}  # fmt: skip
        max_ticks = body.max_frames
        spec = videos_spec(
            [(cam, path, v.s3_key) for (cam, path), v in zip(refs, body.videos, strict=True)], max_ticks, homographies
        )
        frames_total = min(probe.num_frames, max_ticks) if max_ticks else probe.num_frames
    else:
        path = await _video_path(state, body.video_id, body.path, body.s3_key)
        info = await asyncio.get_running_loop().run_in_executor(None, probe_video, path)
        params = {"camera": body.camera, "video_id": body.video_id, "path": body.path, "s3_key": body.s3_key,
                  "max_frames": body.max_frames}  # fmt: skip
        spec = video_spec(body.camera, path, body.s3_key, body.max_frames, homographies)
        frames_total = min(info.frame_count, body.max_frames) if body.max_frames else info.frame_count
    spec = with_topology(spec, topology)
    task_id = secrets.token_hex(16)
    async with state.db.session() as session:
        task = Task(
            id=task_id, environment_id=body.environment_id, source=body.source, params=params,
            status=JobStatus.QUEUED, frames_total=frames_total, created_by=user.username, job_spec=spec,
        )  # fmt: skip
        session.add(task)
        record_audit(session, actor=user.username, action="task.start", target=f"task:{task_id}",
                     details={"source": body.source}, client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    try:
        await state.jobs.submit(task_id)
    except JobQueueUnavailableError as error:
        async with state.db.session() as session:
            await session.execute(
                update(Task).where(Task.id == task_id)
                .values(status=JobStatus.FAILED, error=f"not enqueued: {error}"[:2000], finished_at=utcnow())
            )  # fmt: skip
            await session.commit()
        raise
    return task_out(task)


@router.get("/tasks", response_model=list[TaskOut])
async def list_tasks(
    user: Viewer,
    state: State,
    status: str | None = Query(default=None, pattern="^(queued|running|completed|failed|stopped)$"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=INT32_MAX),
) -> list[TaskOut]:
    query = select(Task).order_by(Task.created_at.desc(), Task.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Task.status == status)
    async with state.db.session() as session:
        tasks = (await session.execute(query)).scalars().all()
    return [task_out(t, await _live_progress(state, t)) for t in tasks]


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(task_id: TaskId, user: Viewer, state: State) -> TaskOut:
    async with state.db.session() as session:
        task = await session.get(Task, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return task_out(task, await _live_progress(state, task))


@router.get("/tasks/{task_id}/live")
async def task_live(task_id: TaskId, user: Viewer, state: State) -> dict[str, Any]:
    """Progress and the latest tracks per camera of a running task, from the shared live state.

    503 when the live state (Redis) is unreachable; `cameras` is empty once the task has ended.
    """
    async with state.db.session() as session:
        task = await session.get(Task, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    live = await state.live.latest(task_id)
    done, total = (live["frames_done"], live["frames_total"]) if live else (task.frames_done, task.frames_total)
    return {"task_id": task_id, "status": task.status, "frames_done": done, "frames_total": total,
            "cameras": live["cameras"] if live else {}}  # fmt: skip


@router.post("/tasks/{task_id}/stop", response_model=TaskOut, status_code=202)
async def stop_task(task_id: TaskId, user: Operator, state: State) -> TaskOut:
    async with state.db.session() as session:
        task = await session.get(Task, task_id)
        if task is None:
            raise NotFoundError("task", task_id)
        record_audit(session, actor=user.username, action="task.stop", target=f"task:{task_id}",
                     client_ip=user.client_ip)  # fmt: skip
        await session.commit()
    # A finished task stays as it is; stopping is idempotent. Needs the live state (503 without it).
    await state.jobs.request_stop(task_id)
    async with state.db.session() as session:
        task = await session.get(Task, task_id) or task
    return task_out(task, await _live_progress(state, task))


async def _live_progress(state: AppState, task: Task) -> tuple[int, int] | None:
    """Live progress of an active task (any replica's or worker's); the stored one if Redis is down."""
    if task.status in JobStatus.FINAL:
        return None
    try:
        return await state.live.progress(task.id)  # type: ignore[no-any-return]
    except LiveStateUnavailableError:
        return None
