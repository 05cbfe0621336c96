"""Job claims and leases with the in-process runner on SQLite (the same code the queue worker runs)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from spoton.db import Task, utcnow
from spoton.pipeline import Broadcaster, JobRuntime, MemoryLiveState, run_processing_job
from spoton.pipeline.lease import heartbeat, reap_lost_jobs


async def _add(db, task_id: str, status: str, **values) -> None:
    async with db.session() as session:
        session.add(Task(id=task_id, source="synthetic", params={}, status=status, created_by="t", **values))
        await session.commit()


async def _status(db, task_id: str) -> tuple[str, str | None]:
    async with db.session() as session:
        task = await session.get(Task, task_id)
        return task.status, task.error


async def test_a_redelivered_job_whose_task_is_not_queued_is_skipped(service) -> None:
    db = service.state.db
    runtime = JobRuntime(db, service.state.suite, MemoryLiveState(Broadcaster(2)), ThreadPoolExecutor(1))
    for status in ("running", "failed", "stopped", "completed"):
        await _add(db, f"{status:x<32}", status, worker="someone-else")
        assert await run_processing_job(runtime, f"{status:x<32}") == "skipped"
        assert (await _status(db, f"{status:x<32}"))[0] == status
    runtime.pool.shutdown()


async def test_the_reaper_fails_stale_leases_only(service_factory) -> None:
    async with service_factory(JOB_LEASE_SECONDS=3600) as service:  # its own reaper stays asleep
        await _reaper_checks(service.state.db)


async def _reaper_checks(db) -> None:
    old = utcnow() - dt.timedelta(seconds=60)
    await _add(db, "a" * 32, "running", worker="w1", heartbeat_at=old)  # its worker died
    await _add(db, "b" * 32, "queued", worker="w1", heartbeat_at=old)  # its in-process runner died
    await _add(db, "c" * 32, "running", worker="w2", heartbeat_at=utcnow())  # alive
    await _add(db, "d" * 32, "queued")  # waiting in a queue's broker: no lease yet
    await _add(db, "e" * 32, "completed", worker="w1", heartbeat_at=old)
    assert sorted(await reap_lost_jobs(db, lease_s=30)) == ["a" * 32, "b" * 32]
    status, error = await _status(db, "a" * 32)
    assert status == "failed"
    assert "no heartbeat for 30 s" in error
    assert [(await _status(db, t * 32))[0] for t in "cde"] == ["running", "queued", "completed"]
    # The dead worker's heartbeat, were it to come back, would tell it the task is no longer its own.
    assert await heartbeat(db, "w1", {"a" * 32}) == {"a" * 32}
    assert await heartbeat(db, "w2", {"c" * 32}) == set()
