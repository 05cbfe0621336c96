"""Environments gain tripwires and a camera topology (transit windows between views).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(sa.Column("tripwires", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("topology", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("topology")
        batch.drop_column("tripwires")
