"""Detections' time key, the TimescaleDB decision and the Alembic round trip on real databases.

TimescaleDB is not packaged for Debian 12, so it cannot be installed here. Two stand-ins, both in a
scratch schema named `timescaledb_standin` and put first on the search_path for one connection:
a view that makes `pg_available_extensions` list timescaledb (to take the decision's other
branch), and a `create_hypertable` SQL function with the real one's parameters that checks what
TimescaleDB checks (the time column exists, has a time type, and is in every unique index). The
migration's exact hypertable SQL runs against that function.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from spoton.db import Database, Detection, Task
from spoton.db.migrate import current_revision, downgrade_to, upgrade_head, upgrade_to
from spoton.db.timescale import ENABLE_EXTENSION_SQL, HYPERTABLE_SQL, is_hypertable, timescaledb_available
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

STANDIN = "timescaledb_standin"

STANDIN_CATALOG_VIEW = f"""
CREATE VIEW {STANDIN}.pg_available_extensions AS
SELECT 'timescaledb'::name AS name, '2.17.2'::text AS default_version, NULL::text AS installed_version,
       'Stand-in row: the real extension is not installable on Debian 12'::text AS comment
"""

STANDIN_CALLS = (
    f"CREATE TABLE {STANDIN}.calls (relation regclass, time_column name, chunk_interval text, migrate_data bool)"
)
STANDIN_CREATE_HYPERTABLE = """
CREATE FUNCTION timescaledb_standin.create_hypertable(
    relation regclass, time_column_name name, partitioning_column name DEFAULT NULL,
    number_partitions integer DEFAULT NULL, associated_schema_name name DEFAULT NULL,
    associated_table_prefix name DEFAULT NULL, chunk_time_interval anyelement DEFAULT NULL::bigint,
    create_default_indexes boolean DEFAULT TRUE, if_not_exists boolean DEFAULT FALSE,
    partitioning_func regproc DEFAULT NULL, migrate_data boolean DEFAULT FALSE
) RETURNS TABLE(hypertable_id integer, schema_name name, table_name name, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    column_type regtype;
    bad_index text;
BEGIN
    SELECT a.atttypid::regtype INTO column_type FROM pg_attribute a
    WHERE a.attrelid = relation AND a.attname = time_column_name AND NOT a.attisdropped;
    IF column_type IS NULL THEN
        RAISE EXCEPTION 'column "%" does not exist', time_column_name;
    END IF;
    IF column_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype,
                           'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'invalid type for dimension "%": %', time_column_name, column_type;
    END IF;
    SELECT i.indexrelid::regclass::text INTO bad_index FROM pg_index i
    WHERE i.indrelid = relation AND i.indisunique AND NOT EXISTS (
        SELECT 1 FROM pg_attribute a
        WHERE a.attrelid = relation AND a.attname = time_column_name AND a.attnum = ANY (i.indkey))
    LIMIT 1;
    IF bad_index IS NOT NULL THEN
        RAISE EXCEPTION 'cannot create a unique index without the column "%" (used in partitioning): %',
            time_column_name, bad_index;
    END IF;
    INSERT INTO timescaledb_standin.calls VALUES (relation, time_column_name, chunk_time_interval::text, migrate_data);
    RETURN QUERY SELECT 1, 'public'::name, relation::text::name, TRUE;
END $$
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"spoton_tsdb_{abs(hash(request.node.name)) % 10**8}")
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def postgres(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    server = request.getfixturevalue("postgres_server")
    db = Database(server.create_database(f"spoton_tsdb_{abs(hash(request.node.name)) % 10**8}"))
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


async def _run(db: Database, fn, *args):  # type: ignore[no-untyped-def]
    async with db.engine.begin() as conn:
        return await conn.run_sync(fn, *args)


def _primary_key(conn, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(inspect(conn).get_pk_constraint(table)["constrained_columns"])


def _columns(conn, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(conn).get_columns(table)}


async def test_upgrade_downgrade_round_trip_keeps_and_backfills_detections(database: Database) -> None:
    started = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    await _run(database, upgrade_to, "0003")
    async with database.session() as session:
        session.add(Task(id="t" * 32, source="synthetic", params={}, status="completed", created_by="x",
                         started_at=started))  # fmt: skip
        await session.commit()
        for n, ts in enumerate((0.0, 0.5, 61.25), start=1):
            await session.execute(
                text(
                    "INSERT INTO detections (task_id, camera, frame, ts, track_id, x1, y1, x2, y2, confidence)"
                    " VALUES (:t, 'cam', :n, :ts, 1, 0, 0, 1, 1, 0.9)"
                ),
                {"t": "t" * 32, "n": n, "ts": ts},
            )
        await session.commit()
    await _run(database, upgrade_head)
    assert await _run(database, current_revision) == "0004"
    async with database.session() as session:
        rows = (await session.execute(select(Detection.ts, Detection.observed_at).order_by(Detection.frame))).all()
    assert [(ts, at) for ts, at in rows] == [(ts, started + dt.timedelta(seconds=ts)) for ts in (0.0, 0.5, 61.25)]
    if database.kind == "postgresql":
        assert await _run(database, _primary_key, "detections") == ["id", "observed_at"]

    await _run(database, downgrade_to, "0003")
    assert "observed_at" not in await _run(database, _columns, "detections")
    assert await _run(database, _primary_key, "detections") == ["id"]
    async with database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM detections"))).scalar_one() == 3

    await _run(database, downgrade_to, "base")
    assert await _run(database, lambda c: set(inspect(c).get_table_names()) - {"alembic_version"}) == set()
    await database.migrate()
    assert "observed_at" in await _run(database, _columns, "detections")
    assert {"heartbeat_at", "worker", "job_spec"} <= await _run(database, _columns, "tasks")


@pytest.mark.postgres
async def test_detections_key_includes_the_time_column_on_plain_postgres(postgres: Database) -> None:
    def unique_indexes(conn) -> list[list[str]]:  # type: ignore[no-untyped-def]
        rows = conn.execute(
            text(
                "SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
                " WHERE i.indrelid = 'detections'::regclass AND i.indisunique GROUP BY i.indexrelid"
            )
        )
        return [row[0] for row in rows]

    assert await _run(postgres, _primary_key, "detections") == ["id", "observed_at"]
    assert all("observed_at" in columns for columns in await _run(postgres, unique_indexes))
    # Plain PostgreSQL here: the hypertable branch was not taken.
    assert await _run(postgres, timescaledb_available) is False
    assert await _run(postgres, is_hypertable) is False


@pytest.mark.postgres
async def test_the_decision_follows_pg_available_extensions(postgres: Database) -> None:
    async with postgres.engine.connect() as conn:
        assert await conn.run_sync(timescaledb_available) is False
        await conn.execute(text(f"CREATE SCHEMA {STANDIN}"))
        await conn.execute(text(STANDIN_CATALOG_VIEW))
        await conn.execute(text(f"SET search_path TO {STANDIN}, pg_catalog, public"))
        assert await conn.run_sync(timescaledb_available) is True
        await conn.execute(text("RESET search_path"))
        assert await conn.run_sync(timescaledb_available) is False
        await conn.rollback()


@pytest.mark.postgres
async def test_the_hypertable_sql_is_valid_and_accepted_by_a_checking_stand_in(postgres: Database) -> None:
    async with postgres.engine.connect() as conn:
        # The extension statement parses: PostgreSQL fails only because the extension is not there.
        with pytest.raises(DBAPIError) as missing:
            await conn.execute(text(ENABLE_EXTENSION_SQL))
        assert "timescaledb" in str(missing.value)
        assert "syntax error" not in str(missing.value)
        await conn.rollback()

        await conn.execute(text(f"CREATE SCHEMA {STANDIN}"))
        await conn.execute(text(STANDIN_CALLS))
        await conn.exec_driver_sql(STANDIN_CREATE_HYPERTABLE)
        await conn.execute(text(f"SET search_path TO {STANDIN}, public"))
        created = (await conn.execute(text(HYPERTABLE_SQL))).scalar_one()  # one composite, as TimescaleDB's
        assert tuple(created) == (1, "public", "detections", True)
        calls = (await conn.execute(text("SELECT relation::text, time_column::text, chunk_interval, migrate_data"
                                         " FROM timescaledb_standin.calls"))).all()  # fmt: skip
        assert calls == [("detections", "observed_at", "1 day", True)]
        # The stand-in is not a rubber stamp: a key without the time column is refused, as by TimescaleDB.
        await conn.execute(text("CREATE TABLE public.readings (id bigint PRIMARY KEY, at timestamptz NOT NULL)"))
        with pytest.raises(DBAPIError, match="without the column"):
            await conn.execute(
                text(HYPERTABLE_SQL.replace("'detections'", "'readings'").replace("'observed_at'", "'at'"))
            )
        await conn.rollback()


@pytest.mark.postgres
async def test_processes_starting_together_migrate_once(request: pytest.FixtureRequest) -> None:
    """API replicas and workers all migrate at start-up; the advisory lock makes that safe."""
    url = request.getfixturevalue("postgres_server").create_database("spoton_tsdb_concurrent")
    databases = [Database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.migrate() for db in databases))
        assert await _run(databases[0], current_revision) == "0004"
        assert await _run(databases[0], _primary_key, "detections") == ["id", "observed_at"]
    finally:
        for db in databases:
            await db.dispose()
