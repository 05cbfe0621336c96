"""Processing jobs on Dramatiq (JOB_BACKEND=dramatiq) with its Redis broker.

The API process enqueues only the task id (`DramatiqJobRunner`); `spoton worker` processes consume
the queue (`JobWorker`) and run the same `run_processing_job` as the in-process runner, on one
event loop thread per worker process. Dramatiq retries are off (max_retries=0): a lost job is
failed by the lease reaper, and a message the broker redelivers after a worker died finds its task
no longer `queued` and is skipped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from spoton.db import Database
from spoton.errors import JobQueueUnavailableError, LiveStateUnavailableError
from spoton.logs import log
from spoton.pipeline.jobs import JobCounters, JobRuntime, LeaseKeeper, request_task_stop, run_processing_job
from spoton.pipeline.live import LiveState

__all__ = ["ACTOR_NAME", "DramatiqJobRunner", "JobWorker", "make_broker"]

ACTOR_NAME = "spoton_process_task"
# Jobs end through their own stop/lease logic; Dramatiq's time limit would only interrupt the
# thread that waits for the job, so it is set far beyond any real task.
TIME_LIMIT_MS = 7 * 24 * 3600 * 1000


def make_broker(url: str, *, timeout_s: float = 5.0, heartbeat_timeout_ms: int = 60_000) -> RedisBroker:
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    middleware = [m() for m in (AgeLimit, TimeLimit, ShutdownNotifications, Callbacks, Pipelines, Retries)]
    return RedisBroker(  # type: ignore[no-untyped-call]
        client=client, middleware=middleware, namespace="spoton-dramatiq", heartbeat_timeout=heartbeat_timeout_ms
    )


def declare_actor(broker: RedisBroker, queue_name: str, fn: Callable[[str], None]) -> dramatiq.Actor[Any, Any]:
    return dramatiq.Actor(
        fn, broker=broker, actor_name=ACTOR_NAME, queue_name=queue_name, priority=0,
        options={"max_retries": 0, "time_limit": TIME_LIMIT_MS},
    )  # fmt: skip


class DramatiqJobRunner:
    """API side: enqueue task ids; progress and stop go through the shared live state."""

    kind = "dramatiq"

    def __init__(
        self, db: Database, live: LiveState, broker_url: str, queue_name: str, *, heartbeat_s: float, lease_s: float,
        counters: JobCounters | None = None,
    ) -> None:  # fmt: skip
        self.db = db
        self.live = live
        self.broadcaster = live.broadcaster
        self.queue_name = queue_name
        self.broker = make_broker(broker_url, timeout_s=2.0)
        self._actor = declare_actor(self.broker, queue_name, _not_here)
        # The API never runs jobs, but it reaps the ones whose worker died.
        self.runtime = JobRuntime(db, None, live, ThreadPoolExecutor(1), counters or JobCounters())
        self.leases = LeaseKeeper(self.runtime, heartbeat_s=heartbeat_s, lease_s=lease_s)

    async def recover(self) -> int:
        self.leases.start()
        return await self.leases.reap()

    async def submit(self, task_id: str) -> None:
        try:
            await asyncio.to_thread(self._actor.send, task_id)
        except (redis.RedisError, OSError, dramatiq.errors.BrokerError) as error:
            raise JobQueueUnavailableError(f"the job queue (Redis broker) is unavailable: {error}") from error

    def start(self, task_id: str, *_: Any) -> None:
        raise RuntimeError("JOB_BACKEND=dramatiq runs jobs in `spoton worker` processes; use submit()")

    async def request_stop(self, task_id: str) -> bool:
        return await request_task_stop(self.db, self.live, task_id)

    def active(self) -> list[str]:
        return []  # jobs run in worker processes

    def progress(self, task_id: str) -> tuple[int, int] | None:
        return None

    async def wait(self, task_id: str) -> None:
        return None

    async def shutdown(self, grace_s: float = 10.0) -> None:
        await self.leases.stop()
        self.runtime.pool.shutdown(wait=False)
        await asyncio.to_thread(self.broker.close)


def _not_here(task_id: str) -> None:  # pragma: no cover - the API declares the actor only to send
    raise RuntimeError("processing jobs run in `spoton worker`")


class JobWorker:
    """Worker side: Dramatiq consumer threads hand each task id to one asyncio loop thread.

    `build_runtime` runs on that loop (the async engine and Redis clients belong to it).
    """

    def __init__(
        self,
        broker_url: str,
        queue_name: str,
        build_runtime: Callable[[], Any],
        *,
        concurrency: int,
        heartbeat_s: float,
        lease_s: float,
        broker_heartbeat_timeout_ms: int = 60_000,
    ) -> None:
        self.broker = make_broker(broker_url, heartbeat_timeout_ms=broker_heartbeat_timeout_ms)
        self.queue_name = queue_name
        self.concurrency = concurrency
        self.heartbeat_s = heartbeat_s
        self.lease_s = lease_s
        self._build_runtime = build_runtime
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="spoton-worker-loop", daemon=True)
        self.runtime: JobRuntime | None = None
        self._leases: LeaseKeeper | None = None
        self._close_runtime: Callable[[], Any] | None = None
        declare_actor(self.broker, queue_name, self._process)
        self._worker: dramatiq.Worker | None = None

    def _submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def start(self) -> None:
        self._thread.start()
        self.runtime, self._close_runtime = self._submit(self._start_runtime()).result(timeout=60)
        self._worker = dramatiq.Worker(self.broker, queues={self.queue_name}, worker_threads=self.concurrency)
        self._worker.start()
        log.info("spoton worker started", worker=self.runtime.worker_id, queue=self.queue_name)

    async def _start_runtime(self) -> tuple[JobRuntime, Callable[[], Any]]:
        runtime, close = await self._build_runtime()
        self._leases = LeaseKeeper(runtime, heartbeat_s=self.heartbeat_s, lease_s=self.lease_s)
        self._leases.start()
        return runtime, close

    def _process(self, task_id: str) -> None:
        assert self.runtime is not None
        status = self._submit(run_processing_job(self.runtime, task_id)).result()
        log.info("job finished", task_id=task_id, status=status, worker=self.runtime.worker_id)

    def stop(self, grace_s: float = 10.0) -> None:
        """Graceful: running jobs stop between frames and are failed as interrupted, then we exit."""
        if self.runtime is not None:
            self.runtime.shutting_down = True
        if self._worker is not None:
            self._worker.stop(timeout=int(grace_s * 1000))
        if self._leases is not None:
            self._submit(self._leases.stop()).result(timeout=10)
        if self._close_runtime is not None:
            try:
                self._submit(self._close_runtime()).result(timeout=10)
            except (LiveStateUnavailableError, concurrent.futures.TimeoutError) as error:
                log.warning("worker closed with errors", error=str(error))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self.broker.close()
