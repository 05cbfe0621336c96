"""The bounded async connection pool shared by streams and routes, and its one way in: `read()`.

Each `read()` is one short read-only transaction: the connection goes back to the pool at the end,
so a stream never holds a connection between batches and N concurrent clients need at most
`max_size` connections. Timeouts are `SET LOCAL` (via set_config) inside the transaction, which
works through PgBouncer in transaction mode; prepared statements are off for the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from indoormaps.errors import DatabaseUnavailable, PoolExhausted, QueryTimeout

__all__ = ["Database", "open_pool"]


async def open_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout_s: float = 5.0,
    name: str = "indoormaps",
) -> AsyncConnectionPool:
    """Open a pool suitable for PgBouncer transaction pooling (no server-side prepared statements)."""
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"prepare_threshold": None, "autocommit": False, "connect_timeout": int(connect_timeout_s)},
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout_s)
    except PoolTimeout as exc:
        await pool.close()
        raise DatabaseUnavailable(f"could not open {min_size} connection(s) in {connect_timeout_s} s") from exc
    return pool


@dataclass
class Database:
    """Pool + limits. `acquire_timeout_s` is how long a request waits for a free connection."""

    pool: AsyncConnectionPool
    acquire_timeout_s: float = 0.5
    statement_timeout_ms: int = 5000

    @asynccontextmanager
    async def read(self, statement_timeout_ms: int | None = None) -> AsyncIterator[AsyncConnection]:
        """One read-only transaction with a local statement timeout; errors become typed ones."""
        timeout_ms = statement_timeout_ms or self.statement_timeout_ms
        try:
            async with self.pool.connection(timeout=self.acquire_timeout_s) as conn, conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY")
                await conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(int(timeout_ms)),))
                yield conn
        except PoolTimeout as exc:
            raise PoolExhausted(
                f"no database connection free within {self.acquire_timeout_s} s (pool size {self.pool.max_size})"
            ) from exc
        except psycopg.errors.QueryCanceled as exc:
            raise QueryTimeout(f"query exceeded the {timeout_ms} ms statement timeout") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(str(exc).strip().splitlines()[0] if str(exc) else "database error") from exc
