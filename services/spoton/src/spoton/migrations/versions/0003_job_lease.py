"""Job lease and spec: tasks.heartbeat_at, tasks.worker, tasks.job_spec.

A runner (in-process or a queue worker) refreshes `heartbeat_at` while it owns a task; a task
whose heartbeat is older than JOB_LEASE_SECONDS is failed by the reaper instead of staying
"running" forever. `job_spec` lets any worker rebuild the task's frame source.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from spoton.db.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("worker", sa.String(128), nullable=True))
        batch.add_column(sa.Column("job_spec", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("job_spec")
        batch.drop_column("worker")
        batch.drop_column("heartbeat_at")
