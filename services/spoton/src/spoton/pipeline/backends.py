"""Build the live state and the job runner the settings ask for (API processes and workers alike)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from spoton.config import Settings
from spoton.db import Database
from spoton.errors import ServiceConfigError
from spoton.pipeline.broadcast import Broadcaster
from spoton.pipeline.jobs import JobCounters, JobManager, JobRuntime
from spoton.pipeline.live import LiveState, MemoryLiveState, RedisLiveState
from spoton.pipeline.models import ModelSuite, check_models

__all__ = ["make_job_runner", "make_live_state", "make_object_store", "run_worker"]


def make_live_state(settings: Settings, broadcaster: Broadcaster, *, listen: bool = True) -> LiveState:
    if settings.REDIS_URL:
        return RedisLiveState(settings.REDIS_URL, broadcaster, ttl_s=settings.LIVE_STATE_TTL_SECONDS, listen=listen)
    return MemoryLiveState(broadcaster)


def make_object_store(settings: Settings) -> Any:
    if not settings.S3_BUCKET_NAME:
        return None
    from spoton.adapters import S3ObjectStore

    return S3ObjectStore(
        bucket=settings.S3_BUCKET_NAME,
        cache_dir=settings.DATA_DIR / "s3-cache",
        endpoint_url=settings.S3_ENDPOINT_URL,
        access_key=settings.AWS_ACCESS_KEY_ID,
        secret_key=settings.AWS_SECRET_ACCESS_KEY.get_secret_value() if settings.AWS_SECRET_ACCESS_KEY else None,
    )


def make_job_runner(
    settings: Settings,
    db: Database,
    suite: ModelSuite,
    live: LiveState,
    counters: JobCounters,
    object_store: Any = None,
) -> Any:
    """`JobManager` (in-process) or `DramatiqJobRunner`; both: submit, request_stop, recover, shutdown."""
    if settings.JOB_BACKEND == "dramatiq":
        from spoton.pipeline.queue import DramatiqJobRunner

        url = settings.job_broker_url
        if not url:
            raise ServiceConfigError("JOB_BACKEND=dramatiq needs REDIS_URL or JOB_BROKER_URL")
        return DramatiqJobRunner(
            db, live, url, settings.JOB_QUEUE_NAME, heartbeat_s=settings.JOB_HEARTBEAT_SECONDS,
            lease_s=settings.JOB_LEASE_SECONDS, counters=counters,
        )  # fmt: skip
    return JobManager(
        db, suite, live, max_concurrent=settings.MAX_CONCURRENT_TASKS, threads=max(2, os.cpu_count() or 2),
        counters=counters, heartbeat_s=settings.JOB_HEARTBEAT_SECONDS, lease_s=settings.JOB_LEASE_SECONDS,
        object_store=object_store,
    )  # fmt: skip


def run_worker(settings: Settings, *, concurrency: int | None = None, ready: Callable[[], None] | None = None) -> None:
    """`spoton worker`: consume the job queue until SIGTERM/SIGINT, then stop gracefully."""
    from spoton.pipeline.queue import JobWorker

    url = settings.job_broker_url
    if not url:
        raise ServiceConfigError("`spoton worker` needs REDIS_URL or JOB_BROKER_URL (the Dramatiq broker)")
    suite = check_models(settings)  # a missing weights file fails here, before consuming anything
    slots = concurrency or settings.MAX_CONCURRENT_TASKS

    async def build() -> tuple[JobRuntime, Callable[[], Any]]:
        db = Database(settings.database_url)
        if settings.DATABASE_AUTO_MIGRATE:
            await db.migrate()
        live = make_live_state(settings, Broadcaster(1), listen=False)
        await live.start()
        pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="spoton-worker")
        runtime = JobRuntime(db, suite, live, pool, object_store=make_object_store(settings))

        async def close() -> None:
            pool.shutdown(wait=False, cancel_futures=True)
            await live.close()
            await db.dispose()

        return runtime, close

    worker = JobWorker(
        url, settings.JOB_QUEUE_NAME, build, concurrency=slots,
        heartbeat_s=settings.JOB_HEARTBEAT_SECONDS, lease_s=settings.JOB_LEASE_SECONDS,
    )  # fmt: skip
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    if ready is not None:
        ready()
    stop.wait()
    worker.stop(grace_s=settings.GRACEFUL_TIMEOUT / 2)
