"""JOB_BACKEND=dramatiq end to end: the API enqueues, a real `spoton worker` process runs the job.

A real redis-server is the broker and the live state; the API and the worker share one SQLite
file. Progress and stop go through the API while the job runs in the other process; a worker
killed with SIGKILL mid-job leaves a task that the API fails once its lease expires (never
"running" forever). Lost jobs are failed, not retried: see `spoton.pipeline.lease`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from spoton.db import Task

from .conftest import ENC_KEY, JWT_KEY

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LEASE = {"JOB_HEARTBEAT_SECONDS": 0.5, "JOB_LEASE_SECONDS": 2.0}
SMALL = {"source": "synthetic", "cameras": ["cam_b"], "width": 320, "height": 180}


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "spoton.cli", "worker", "--concurrency", "1"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "spoton worker: ready" in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError("worker did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def worker_env(tmp_path: Path, redis_server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOB_", "REDIS_", "DATABASE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"), DATABASE_URL=f"sqlite:///{tmp_path / 'spoton.db'}", REDIS_URL=redis_server.url,
        JOB_BACKEND="dramatiq", JWT_SECRET_KEY=JWT_KEY, ENCRYPTION_SECRET_KEY=ENC_KEY, LOG_LEVEL="INFO",
        **{k: str(v) for k, v in LEASE.items()},
    )  # fmt: skip
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(worker_env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start  # type: ignore[misc]
    for worker in workers:
        worker.stop()


async def _start(svc, frames: int) -> str:
    r = await svc.client.post(f"{svc.prefix}/tasks", json=SMALL | {"num_frames": frames}, headers=svc.auth("operator"))
    assert r.status_code == 202, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def _until(svc, task_id: str, frames_done: int, limit_s: float = 30) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        body = (await svc.client.get(f"{svc.prefix}/tasks/{task_id}", headers=svc.auth("viewer"))).json()
        if body["status"] == "running" and body["frames_done"] >= frames_done:
            return body  # type: ignore[no-any-return]
        assert body["status"] in ("queued", "running"), body
        await asyncio.sleep(0.05)
    raise TimeoutError(f"task {task_id} never reached frame {frames_done}")


async def test_a_worker_process_runs_stops_and_loses_jobs_submitted_through_the_api(
    service_factory, redis_server, start_worker
) -> None:
    async with service_factory(REDIS_URL=redis_server.url, JOB_BACKEND="dramatiq", **LEASE) as svc:
        worker = start_worker()

        # 1. A short task runs to completion in the worker, not in the API process.
        first = await _start(svc, 12)
        done = await svc.wait_task(first, limit_s=60)
        assert done["status"] == "completed", done
        assert done["frames_done"] == 12
        assert svc.state.jobs.active() == []
        async with svc.state.db.session() as session:
            assert f":{worker.process.pid}:" in (await session.get(Task, first)).worker
        detections = await svc.client.get(f"{svc.prefix}/tasks/{first}/detections", headers=svc.auth("viewer"))
        assert detections.json()["total"] > 0

        # 2. Progress of a long one is visible through the API; a stop through the API ends it.
        second = await _start(svc, 400)
        running = await _until(svc, second, 3)
        assert running["frames_total"] == 400
        live = (await svc.client.get(f"{svc.prefix}/tasks/{second}/live", headers=svc.auth("viewer"))).json()
        assert live["cameras"]["cam_b"]["frame"] >= 3
        stop = await svc.client.post(f"{svc.prefix}/tasks/{second}/stop", headers=svc.auth("operator"))
        assert stop.status_code == 202
        stopped = await svc.wait_task(second, limit_s=30)
        assert stopped["status"] == "stopped"
        assert 3 <= stopped["frames_done"] < 400

        # 3. The worker dies mid-job (SIGKILL: no clean-up at all); the lease expires, the task fails.
        third = await _start(svc, 400)
        await _until(svc, third, 2)
        worker.process.kill()
        worker.process.wait(timeout=10)
        killed_at = time.monotonic()
        lost = await svc.wait_task(third, limit_s=30)
        assert lost["status"] == "failed"
        assert "no heartbeat" in lost["error"]
        assert time.monotonic() - killed_at < LEASE["JOB_LEASE_SECONDS"] + 5

        # 4. A worker asked to stop (SIGTERM) ends its job between frames and says why, at once.
        worker = start_worker()
        fourth = await _start(svc, 400)
        await _until(svc, fourth, 2)
        worker.process.terminate()
        assert await asyncio.to_thread(worker.process.wait, 20) == 0
        interrupted = (await svc.client.get(f"{svc.prefix}/tasks/{fourth}", headers=svc.auth("viewer"))).json()
        assert interrupted["status"] == "failed"
        assert "worker shut down" in interrupted["error"]
        assert interrupted["frames_done"] < 400
