"""Detections get a time column in their primary key; a hypertable when TimescaleDB is available.

`observed_at` = the task's start (UTC) + `ts`, back-filled for existing rows. On PostgreSQL the
primary key becomes (id, observed_at) whether or not TimescaleDB is there (a hypertable requires
the time column in every unique index). When `pg_available_extensions` lists timescaledb, the
extension is created and the table converted (existing rows migrated). SQLite keeps its rowid key.

`tracks` stays a plain table: it holds one summary row per local track (first/last frame), not a
time series, and its (task_id, camera, track_id) uniqueness would be lost by partitioning on time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from spoton.db.models import UTCDateTime
from spoton.db.timescale import (
    ENABLE_EXTENSION_SQL,
    HYPERTABLE_SQL,
    HYPERTABLE_TABLE,
    TIME_COLUMN,
    is_hypertable,
    timescaledb_available,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BACKFILL_PG = """
UPDATE detections AS d
SET observed_at = COALESCE(t.started_at, t.created_at) + d.ts * INTERVAL '1 second'
FROM tasks AS t WHERE t.id = d.task_id
"""


def _backfill_sqlite(bind: sa.Connection) -> None:
    """SQLite has no interval arithmetic on our stored datetimes: compute in Python per task."""
    tasks = sa.table(
        "tasks", sa.column("id"), sa.column("started_at", UTCDateTime()), sa.column("created_at", UTCDateTime())
    )
    detections = sa.table(
        HYPERTABLE_TABLE, sa.column("id"), sa.column("task_id"), sa.column("ts"), sa.column(TIME_COLUMN, UTCDateTime())
    )
    starts = {row.id: row.started_at or row.created_at for row in bind.execute(sa.select(tasks))}
    rows = bind.execute(sa.select(detections.c.id, detections.c.task_id, detections.c.ts)).all()
    updates = [
        {"row_id": row.id, "at": starts[row.task_id] + dt.timedelta(seconds=float(row.ts))}
        for row in rows
        if row.task_id in starts
    ]
    if updates:
        bind.execute(
            detections.update()
            .where(detections.c.id == sa.bindparam("row_id"))
            .values({TIME_COLUMN: sa.bindparam("at")}),
            updates,
        )


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(HYPERTABLE_TABLE, sa.Column(TIME_COLUMN, UTCDateTime(), nullable=True))
    if bind.dialect.name == "sqlite":
        _backfill_sqlite(bind)
        with op.batch_alter_table(HYPERTABLE_TABLE) as batch:
            batch.alter_column(TIME_COLUMN, existing_type=UTCDateTime(), nullable=False)
    else:
        op.execute(_BACKFILL_PG)
        op.alter_column(HYPERTABLE_TABLE, TIME_COLUMN, existing_type=UTCDateTime(), nullable=False)
        op.drop_constraint(f"{HYPERTABLE_TABLE}_pkey", HYPERTABLE_TABLE, type_="primary")
        op.create_primary_key(f"{HYPERTABLE_TABLE}_pkey", HYPERTABLE_TABLE, ["id", TIME_COLUMN])
    op.create_index(f"ix_{HYPERTABLE_TABLE}_{TIME_COLUMN}", HYPERTABLE_TABLE, [TIME_COLUMN])
    if timescaledb_available(bind):
        op.execute(ENABLE_EXTENSION_SQL)
        op.execute(HYPERTABLE_SQL)


def downgrade() -> None:
    bind = op.get_bind()
    if is_hypertable(bind):
        raise RuntimeError(
            f"{HYPERTABLE_TABLE} is a TimescaleDB hypertable and cannot be turned back into a plain table "
            "by a migration; restore a backup taken before revision 0004 instead"
        )
    op.drop_index(f"ix_{HYPERTABLE_TABLE}_{TIME_COLUMN}", HYPERTABLE_TABLE)
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(HYPERTABLE_TABLE) as batch:
            batch.drop_column(TIME_COLUMN)
        return
    op.drop_constraint(f"{HYPERTABLE_TABLE}_pkey", HYPERTABLE_TABLE, type_="primary")
    op.create_primary_key(f"{HYPERTABLE_TABLE}_pkey", HYPERTABLE_TABLE, ["id"])
    op.drop_column(HYPERTABLE_TABLE, TIME_COLUMN)
