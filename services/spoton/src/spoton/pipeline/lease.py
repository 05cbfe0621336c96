"""Job leases: runners heartbeat the tasks they own; tasks whose heartbeat went stale are failed.

A task is failed, not retried: a half-processed task has stored part of its detections and
persons, and a rerun would duplicate them. A queue message redelivered after its worker died finds
the task no longer `queued` and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from sqlalchemy import and_, or_, select, update

from spoton.db import Database, Task, utcnow
from spoton.logs import log

__all__ = ["ACTIVE", "LOST_JOB_ERROR", "heartbeat", "new_worker_id", "reap_lost_jobs", "run_every"]

ACTIVE = ("queued", "running")
LOST_JOB_ERROR = "lost: its worker sent no heartbeat for {lease:g} s (the process died or was restarted)"


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def heartbeat(db: Database, worker: str, task_ids: set[str]) -> set[str]:
    """Refresh the lease of `task_ids`; return those this worker no longer owns (reaped, stopped)."""
    if not task_ids:
        return set()
    ids = list(task_ids)
    async with db.session() as session:
        await session.execute(
            update(Task)
            .where(Task.id.in_(ids), Task.worker == worker, Task.status.in_(ACTIVE))
            .values(heartbeat_at=utcnow())
        )
        owned = set(
            (
                await session.execute(
                    select(Task.id).where(Task.id.in_(ids), Task.worker == worker, Task.status.in_(ACTIVE))
                )
            ).scalars()
        )
        await session.commit()
    return task_ids - owned


async def reap_lost_jobs(db: Database, lease_s: float) -> list[str]:
    """Fail active tasks whose lease expired (and `running` ones that never had one); return their ids.

    Tasks still `queued` without a heartbeat are waiting in a queue's broker, not lost.
    """
    cutoff = utcnow() - dt.timedelta(seconds=lease_s)
    stale = or_(
        and_(Task.status.in_(ACTIVE), Task.heartbeat_at.is_not(None), Task.heartbeat_at < cutoff),
        and_(Task.status == "running", Task.heartbeat_at.is_(None)),
    )
    async with db.session() as session:
        ids = list((await session.execute(select(Task.id).where(stale))).scalars())
        if ids:
            await session.execute(
                update(Task)
                .where(Task.id.in_(ids), stale)
                .values(status="failed", error=LOST_JOB_ERROR.format(lease=lease_s), finished_at=utcnow())
            )
            await session.commit()
    return ids


async def run_every(interval_s: float, action: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `action` every `interval_s` until cancelled; a failing round is logged, not fatal."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a database hiccup must not end the loop
            log.warning("periodic job chore failed", chore=name, error=f"{type(error).__name__}: {error}")


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
