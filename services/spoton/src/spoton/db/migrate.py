"""Run Alembic on a connection we already hold (the cookbook's "sharing a connection" recipe)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

__all__ = ["alembic_config", "current_revision", "downgrade_to", "upgrade_head", "upgrade_to"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def upgrade_to(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade_to(connection: Connection, revision: str) -> None:
    """Step the schema back to `revision` ("base" drops everything)."""
    command.downgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
