"""The async engine and session factory; URLs are normalised to an async driver.

`sqlite:///path` runs on aiosqlite (foreign keys switched on per connection), `postgresql://`
on asyncpg. Migrations run through Alembic on the same engine at start-up when asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from spoton.errors import ServiceConfigError

__all__ = ["MIGRATION_LOCK_KEY", "Database", "async_url"]

MIGRATION_LOCK_KEY = 0x5907_0_4E  # any constant shared by every SpotOn process of one database


def async_url(url: str) -> str:
    """The same database with an asyncio driver; refuses schemes we do not support."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ServiceConfigError(
        f"DATABASE_URL scheme {parsed.drivername!r} is not supported; use sqlite:// or postgresql://"
    )


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        parsed = make_url(self.url)
        self.kind = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.kind == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.kind == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self) -> None:
        """Bring the schema to Alembic's head revision.

        On PostgreSQL a transaction-scoped advisory lock serialises processes that start together
        (API replicas, job workers): the first migrates, the others then find the schema at head.
        """
        from spoton.db.migrate import upgrade_head

        async with self.engine.begin() as conn:
            if self.kind == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(upgrade_head)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
