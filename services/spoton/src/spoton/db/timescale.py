"""TimescaleDB: decide whether the hypertable branch of the migrations runs, and the SQL it runs.

The branch is taken only when the server lists `timescaledb` in `pg_available_extensions`
(installed on the server, not necessarily created in this database yet). Everything else about
the schema, including the composite primary key with the time column, is the same on plain
PostgreSQL, so a database can move to TimescaleDB later without changing keys.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = [
    "ENABLE_EXTENSION_SQL",
    "HYPERTABLE_SQL",
    "HYPERTABLE_TABLE",
    "TIME_COLUMN",
    "is_hypertable",
    "timescaledb_available",
]

HYPERTABLE_TABLE = "detections"
TIME_COLUMN = "observed_at"

ENABLE_EXTENSION_SQL = "CREATE EXTENSION IF NOT EXISTS timescaledb"
# One chunk per day; our own index on the time column already exists, so no default indexes.
HYPERTABLE_SQL = (
    f"SELECT create_hypertable('{HYPERTABLE_TABLE}', '{TIME_COLUMN}', "
    "chunk_time_interval => INTERVAL '1 day', create_default_indexes => FALSE, "
    "if_not_exists => TRUE, migrate_data => TRUE)"
)


def timescaledb_available(connection: Connection) -> bool:
    """True when this PostgreSQL server can create the timescaledb extension (never on SQLite)."""
    if connection.dialect.name != "postgresql":
        return False
    # Unqualified on purpose: resolved through search_path like any other catalog name.
    row = connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None


def is_hypertable(connection: Connection, table: str = HYPERTABLE_TABLE) -> bool:
    """True when `table` already is a TimescaleDB hypertable in this database."""
    if connection.dialect.name != "postgresql":
        return False
    installed = connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    if installed is None:
        return False
    row = connection.execute(
        text("SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = :table"), {"table": table}
    ).first()
    return row is not None
