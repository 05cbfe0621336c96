"""Alembic environment: SpotOn always hands Alembic an open connection (see spoton.db.migrate)."""

from __future__ import annotations

from alembic import context

from spoton.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `spoton db upgrade` (spoton.db.migrate), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
