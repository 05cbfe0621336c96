"""Schema contract on every backend: migrations equal the models, the audit log is append-only.

Run on SQLite (aiosqlite) always and on a real PostgreSQL 15 (asyncpg) under the `postgres` marker.
"""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from spoton.db import AuditEntry, Base, Database, Environment, record_audit
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

SRC = Path(__file__).resolve().parents[2] / "src" / "spoton"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'contract.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"spoton_contract_{abs(hash(request.node.name)) % 10**8}"
        url = server.create_database(name)
    db = Database(url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.dispose()


async def test_migrations_create_exactly_the_models(database: Database) -> None:
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert diff == []
    assert set(Base.metadata.tables) <= tables


async def test_migrating_twice_is_a_no_op(database: Database) -> None:
    async def revisions() -> list[str]:
        async with database.session() as session:
            return [row[0] for row in await session.execute(text("SELECT version_num FROM alembic_version"))]

    before = await revisions()
    await database.migrate()
    await database.ping()
    assert len(before) == 1
    assert await revisions() == before


async def test_audit_log_refuses_update_and_delete(database: Database) -> None:
    async with database.session() as session:
        record_audit(session, actor="t", action="test.append", details={"n": 1})
        await session.commit()
    for statement in (
        update(AuditEntry).values(actor="mallory"),
        delete(AuditEntry),
        text("UPDATE audit_log SET action = 'forged'"),
    ):
        async with database.session() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
    async with database.session() as session:
        rows = (await session.execute(select(AuditEntry))).scalars().all()
    assert [(r.actor, r.action) for r in rows] == [("t", "test.append")]


async def test_foreign_keys_cascade(database: Database) -> None:
    from spoton.db import Camera

    async with database.session() as session:
        env = Environment(name="e", zones=[])
        session.add(env)
        await session.flush()
        session.add(Camera(environment_id=env.id, name="c"))
        await session.commit()
        await session.delete(env)
        await session.commit()
        assert (await session.execute(select(Camera))).scalars().all() == []


def _calls(tree: ast.AST) -> list[str]:
    return [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_no_code_path_updates_or_deletes_audit_entries() -> None:
    """Static proof: no update()/delete() on AuditEntry or audit_log, no session.delete of an entry."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        for call in _calls(ast.parse(source)):
            if re.match(r"^(update|delete)\(\s*AuditEntry", call) or re.search(
                r"(UPDATE|DELETE FROM)\s+audit_log", call
            ):
                offenders.append(f"{path.name}: {call}")
        if "AuditEntry" in source and re.search(r"\.delete\(\s*(entry|audit)", source):
            offenders.append(f"{path.name}: session.delete on an audit entry")
    assert offenders == []


def test_the_static_check_would_catch_an_offender() -> None:
    calls: Callable[[str], list[str]] = lambda s: _calls(ast.parse(s))  # noqa: E731
    assert any(re.match(r"^(update|delete)\(\s*AuditEntry", c) for c in calls("session.execute(delete(AuditEntry))"))
