"""A disk tile cache in MBTiles 1.3 files (SQLite in WAL mode), behind servicekit's `Cache` interface.

Each tileset MapMap serves (endpoint x tile size x format) is one `<endpoint>-<size>-<format>.mbtiles`
under `CACHE_PATH`: the spec's `metadata` and `tiles` tables (TMS rows, y flipped) hold the images, so
GDAL, QGIS or any MBTiles reader can open the cache, and the side table `mapmap_tile_state` holds what
MBTiles has no column for (expiry, ETag, content type, negative 404/204 entries). Keys that are not
tile keys (reprojection source tiles in national grids, anything else) go to `entries.sqlite`.

Every SQLite call runs on a small thread pool (one connection per thread and file), so the event loop
never blocks on disk. WAL mode plus a busy timeout lets several gunicorn workers share the files:
readers never wait, writers take turns.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from servicekit.resilience import CacheEntry

__all__ = ["ENTRIES_FILE", "MBTilesCache", "TilesetKey", "parse_tile_key", "tileset_file"]

ENTRIES_FILE = "entries.sqlite"
# The tile service's keys and values (see mapmap.tiles): `t:{endpoint}:{size}:{z}:{x}:{y}:{kind}`,
# value = status marker (1 byte) + ETag (32 hex) + image. Anything else is stored as an opaque entry.
_TILE_KEY = re.compile(
    r"^t:(?P<endpoint>[a-z0-9][a-z0-9_-]{0,63}):(?P<size>256|512):(?P<z>\d{1,2}):(?P<x>\d{1,9}):(?P<y>\d{1,9})"
    r":(?P<kind>png|jpeg|webp)$"
)
_MARKERS = (b"T", b"N", b"E")
_HEADER = 33
_MBTILES_FORMAT = {"png": "png", "jpeg": "jpg", "webp": "webp"}
_CONTENT_TYPE = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_MAX_MERCATOR_LAT = 85.0511287798066

_TILESET_SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (name TEXT NOT NULL, value TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS metadata_name ON metadata (name);
CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);
CREATE TABLE IF NOT EXISTS mapmap_tile_state (
    zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL,
    status BLOB NOT NULL, etag BLOB NOT NULL, content_type TEXT NOT NULL,
    stored_at REAL NOT NULL, ttl REAL NOT NULL, stale_ttl REAL NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (zoom_level, tile_column, tile_row)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mapmap_tile_state_expiry ON mapmap_tile_state (expires_at);
"""
_ENTRIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, value BLOB NOT NULL,
    stored_at REAL NOT NULL, ttl REAL NOT NULL, stale_ttl REAL NOT NULL, expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
"""

T = TypeVar("T")


@dataclass(frozen=True)
class TilesetKey:
    """A tile key resolved to its MBTiles file and TMS address (row counted from the south)."""

    endpoint: str
    size: int
    kind: str
    zoom: int
    column: int
    row: int


def parse_tile_key(key: str) -> TilesetKey | None:
    match = _TILE_KEY.match(key)
    if match is None:
        return None
    z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
    if x >= 2**z or y >= 2**z:
        return None
    return TilesetKey(match["endpoint"], int(match["size"]), match["kind"], z, x, (2**z - 1) - y)


def tileset_file(tileset: TilesetKey) -> str:
    return f"{tileset.endpoint}-{tileset.size}-{_MBTILES_FORMAT[tileset.kind]}.mbtiles"


class MBTilesCache:
    """TTL tile cache on disk; `sweep()` deletes entries past their stale window (run it periodically)."""

    def __init__(
        self,
        directory: Path,
        *,
        threads: int = 4,
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.busy_timeout = busy_timeout
        self.clock = clock
        directory.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mbtiles")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    # -- the Cache interface ----------------------------------------------------------------------

    async def get(self, key: str) -> CacheEntry | None:
        return await self._run(self._get, key, self.clock())

    async def set(self, key: str, value: bytes, ttl: float, stale_ttl: float = 0.0) -> None:
        await self._run(self._set, key, value, ttl, stale_ttl, self.clock())

    async def delete(self, key: str) -> None:
        await self._run(self._delete, key)

    async def clear(self) -> None:
        await self._run(self._clear)

    async def size(self) -> int:
        return await self._run(self._size, self.clock())

    # -- maintenance ------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Delete entries past ttl + stale_ttl; returns how many went."""
        return await self._run(self._sweep, self.clock())

    async def ping(self) -> None:
        await self._run(lambda: self._connection(ENTRIES_FILE, _ENTRIES_SCHEMA).execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    # -- thread side ------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise sqlite3.ProgrammingError("the MBTiles cache is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _connection(self, name: str, schema: str, tileset: TilesetKey | None = None) -> sqlite3.Connection:
        connections: dict[str, sqlite3.Connection] = self._local.__dict__.setdefault("connections", {})
        connection = connections.get(name)
        if connection is None:
            connection = sqlite3.connect(
                self.directory / name, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            connection.execute("PRAGMA synchronous = NORMAL")
            with self._lock:
                self._connections.append(connection)
            connections[name] = connection
        if name not in self._ready:
            self._create(connection, schema, tileset)
            with self._lock:
                self._ready.add(name)
        return connection

    def _switch_to_wal(self, connection: sqlite3.Connection) -> None:
        """WAL is a property of the file: the first worker to get here switches it, the others see it set.

        The switch needs an exclusive lock, and SQLite answers "database is locked" at once (without its
        busy handler) while another worker is creating the same file: retry until busy_timeout.
        """
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    connection.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _create(self, connection: sqlite3.Connection, schema: str, tileset: TilesetKey | None) -> None:
        self._switch_to_wal(connection)
        with _write(connection):
            for statement in _statements(schema):  # not executescript(): it would COMMIT our transaction
                connection.execute(statement)
            if tileset is not None:
                metadata = {
                    "name": f"{tileset.endpoint} ({tileset.size} px)",
                    "format": _MBTILES_FORMAT[tileset.kind],
                    "type": "baselayer",
                    "version": "1.0.0",
                    "description": "MapMap tile cache",
                    "bounds": f"-180,{-_MAX_MERCATOR_LAT},180,{_MAX_MERCATOR_LAT}",
                }
                connection.executemany(
                    "INSERT OR IGNORE INTO metadata (name, value) VALUES (?, ?)", list(metadata.items())
                )

    def _tileset(self, key: str) -> tuple[sqlite3.Connection, TilesetKey] | None:
        tileset = parse_tile_key(key)
        if tileset is None:
            return None
        return self._connection(tileset_file(tileset), _TILESET_SCHEMA, tileset), tileset

    def _entries(self) -> sqlite3.Connection:
        return self._connection(ENTRIES_FILE, _ENTRIES_SCHEMA)

    def _get(self, key: str, now: float) -> CacheEntry | None:
        found = self._tileset(key)
        if found is None:
            row = (
                self._entries()
                .execute(
                    "SELECT value, stored_at, ttl, stale_ttl FROM entries WHERE key = ? AND expires_at > ?", (key, now)
                )
                .fetchone()
            )
            return None if row is None else CacheEntry(bytes(row[0]), row[1], row[2], row[3])
        connection, tile = found
        row = connection.execute(
            "SELECT s.status, s.etag, t.tile_data, s.stored_at, s.ttl, s.stale_ttl FROM mapmap_tile_state AS s "
            "LEFT JOIN tiles AS t USING (zoom_level, tile_column, tile_row) "
            "WHERE s.zoom_level = ? AND s.tile_column = ? AND s.tile_row = ? AND s.expires_at > ?",
            (tile.zoom, tile.column, tile.row, now),
        ).fetchone()
        if row is None:
            return None
        status, etag, data, stored_at, ttl, stale_ttl = row
        return CacheEntry(bytes(status) + bytes(etag) + bytes(data or b""), stored_at, ttl, stale_ttl)

    def _set(self, key: str, value: bytes, ttl: float, stale_ttl: float, now: float) -> None:
        expires_at = now + ttl + stale_ttl
        found = self._tileset(key) if len(value) >= _HEADER and value[:1] in _MARKERS else None
        if found is None:
            connection = self._entries()
            with _write(connection):
                connection.execute(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                    (key, value, now, ttl, stale_ttl, expires_at),
                )
            return
        connection, tile = found
        address = (tile.zoom, tile.column, tile.row)
        status, etag, body = value[:1], value[1:_HEADER], value[_HEADER:]
        with _write(connection):
            connection.execute(
                "INSERT OR REPLACE INTO mapmap_tile_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*address, status, etag, _CONTENT_TYPE[tile.kind], now, ttl, stale_ttl, expires_at),
            )
            if status == b"T":
                connection.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)", (*address, body))
            else:  # a remembered 404/204 has no image: MBTiles readers must see no tile there
                connection.execute(
                    "DELETE FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", address
                )

    def _delete(self, key: str) -> None:
        found = self._tileset(key)
        if found is None:
            connection = self._entries()
            with _write(connection):
                connection.execute("DELETE FROM entries WHERE key = ?", (key,))
            return
        connection, tile = found
        address = (tile.zoom, tile.column, tile.row)
        where = "WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?"
        with _write(connection):
            connection.execute(f"DELETE FROM mapmap_tile_state {where}", address)  # noqa: S608 - constant text
            connection.execute(f"DELETE FROM tiles {where}", address)  # noqa: S608 - constant text

    def _files(self) -> list[tuple[sqlite3.Connection, bool]]:
        """Every cache file in the directory, including those other workers created: (connection, is_tileset)."""
        files = [(self._entries(), False)]
        for path in sorted(self.directory.glob("*.mbtiles")):
            files.append((self._connection(path.name, _TILESET_SCHEMA), True))
        return files

    def _clear(self) -> None:
        for connection, is_tileset in self._files():
            with _write(connection):
                if is_tileset:
                    connection.execute("DELETE FROM mapmap_tile_state")
                    connection.execute("DELETE FROM tiles")
                else:
                    connection.execute("DELETE FROM entries")

    def _size(self, now: float) -> int:
        total = 0
        for connection, is_tileset in self._files():
            table = "mapmap_tile_state" if is_tileset else "entries"
            total += connection.execute(
                f"SELECT count(*) FROM {table} WHERE expires_at > ?",  # noqa: S608 - table name is a constant
                (now,),
            ).fetchone()[0]
        return int(total)

    def _sweep(self, now: float) -> int:
        removed = 0
        for connection, is_tileset in self._files():
            with _write(connection):
                if is_tileset:
                    connection.execute(
                        "DELETE FROM tiles WHERE (zoom_level, tile_column, tile_row) IN "
                        "(SELECT zoom_level, tile_column, tile_row FROM mapmap_tile_state WHERE expires_at <= ?)",
                        (now,),
                    )
                    removed += connection.execute(
                        "DELETE FROM mapmap_tile_state WHERE expires_at <= ?", (now,)
                    ).rowcount
                else:
                    removed += connection.execute("DELETE FROM entries WHERE expires_at <= ?", (now,)).rowcount
        return removed


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


class _write:
    """BEGIN IMMEDIATE ... COMMIT: take the write lock up front so two workers never deadlock upgrading."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
