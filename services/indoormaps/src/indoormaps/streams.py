"""Keyset-paginated feature reads: one page, or a stream of batches, with the same feature shape.

Snapshot across batches: a single REPEATABLE READ transaction per batch would only make each
batch self-consistent. Instead every read is pinned to a data version: a stream captures the
current version id at its start (or takes it from the cursor) and every batch filters on it.
Imports never modify a version; they write a new one and retain the previous one, so a stream
that started before an import finishes on the data it started with. If its version has been
purged (two imports during one stream), the next batch raises SnapshotExpired instead of
silently mixing versions.

Keyset order is (id) — or (search score DESC, id) when `q` is given — so depth never costs more
than the first batch, and no connection is held between batches.
"""

# ruff: noqa: S608 - SQL text is built only from Layer constants; request values are bound parameters

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from indoormaps.cursor import CursorCodec, CursorState
from indoormaps.db import Database
from indoormaps.errors import NoDataLoaded, SnapshotExpired, UnknownLevel
from indoormaps.layers import Layer, get_layer
from indoormaps.query import FeatureQuery

__all__ = ["Batch", "FeatureStore", "current_version"]

# word_similarity threshold for `q`: low enough for one or two typos in a room name.
_TRGM_THRESHOLD = "0.35"


@dataclass
class Batch:
    """Features as ready-made GeoJSON Feature strings (never parsed in Python)."""

    layer: str
    version: int
    features: list[str]
    next_cursor: str | None
    elapsed_ms: float

    def feature_collection_text(self) -> str:
        """Page mode body: a FeatureCollection assembled around the database's JSON text."""
        import json

        tail = json.dumps({"next_cursor": self.next_cursor, "data_version": self.version})[1:]
        return '{"type":"FeatureCollection","features":[' + ",".join(self.features) + "]," + tail


async def current_version(db: Database) -> int:
    async with db.read() as conn:
        cur = await conn.execute("SELECT id FROM indoor_data_version WHERE is_current")
        row = await cur.fetchone()
    if row is None:
        raise NoDataLoaded("no data imported yet: run `indoormaps import imdf PATH`")
    return int(row[0])


@dataclass
class FeatureStore:
    db: Database
    codec: CursorCodec
    _levels: dict[int, list[int]] = field(default_factory=dict)  # versions are immutable: cache is safe

    async def _known_levels(self, conn: Any, version: int) -> list[int]:
        if version not in self._levels:
            cur = await conn.execute(
                "SELECT coalesce(array_agg(DISTINCT ordinal ORDER BY ordinal), '{}') FROM indoor_level "
                "WHERE version_id = %s",
                (version,),
            )
            row = await cur.fetchone()
            self._levels[version] = list(row[0]) if row else []
        return self._levels[version]

    def _sql(self, layer: Layer, query: FeatureQuery, state: CursorState | None) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"v": None}
        where = ["f.version_id = %(v)s"]
        select_score = ""
        order = "f.id"
        if query.level is not None and layer.level_sql:
            where.append(f"{layer.level_sql} = %(level)s")
            params["level"] = query.level
        if query.category is not None and layer.category_sql:
            where.append(f"{layer.category_sql} = %(category)s")
            params["category"] = query.category
        if query.bbox is not None:
            where.append("ST_Intersects(f.geom, ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, 4326))")
            params.update(minx=query.bbox.minx, miny=query.bbox.miny, maxx=query.bbox.maxx, maxy=query.bbox.maxy)
        score = ""
        if query.q is not None and layer.search_sql:
            score = f"word_similarity(%(q)s, {layer.search_sql})::float8"
            where.append(f"%(q)s <%% {layer.search_sql}")
            params["q"] = query.q
            select_score = f", {score}"
            order = f"{score} DESC, f.id"
        if state is not None:
            if score:
                where.append(f"({score} < %(ks)s OR ({score} = %(ks)s AND f.id > %(kid)s))")
                params.update(ks=float(state.key[0]), kid=int(state.key[-1]))
            else:
                where.append("f.id > %(kid)s")
                params["kid"] = int(state.key[-1])
        sql = (
            f"SELECT {layer.feature_json_sql()}, f.id{select_score} FROM {layer.from_sql} "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %(n)s"
        )
        return sql, params

    def _decode(self, layer: Layer, query: FeatureQuery, cursor: str | None) -> CursorState | None:
        if cursor is None:
            return None
        return self.codec.decode(cursor, layer=layer.name, fingerprint=query.fingerprint(layer.name))

    async def page(
        self,
        layer_name: str,
        query: FeatureQuery,
        *,
        limit: int,
        cursor: str | None = None,
        version: int | None = None,
    ) -> Batch:
        """One page of at most `limit` features after `cursor` (keyset), pinned to a data version."""
        layer = get_layer(layer_name)
        state = self._decode(layer, query, cursor)
        started = time.perf_counter()
        sql, params = self._sql(layer, query, state)
        async with self.db.read() as conn:
            if state is not None:
                version = state.version
            if version is None:
                cur = await conn.execute("SELECT id FROM indoor_data_version WHERE is_current")
                row = await cur.fetchone()
                if row is None:
                    raise NoDataLoaded("no data imported yet: run `indoormaps import imdf PATH`")
                version = int(row[0])
            else:
                cur = await conn.execute("SELECT 1 FROM indoor_data_version WHERE id = %s", (version,))
                if await cur.fetchone() is None:
                    raise SnapshotExpired(f"data version {version} has been replaced; restart without a cursor")
            if query.level is not None:
                known = await self._known_levels(conn, version)
                if query.level not in known:
                    raise UnknownLevel(query.level, known)
            if query.q is not None:
                await conn.execute(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", (_TRGM_THRESHOLD,)
                )
            params["v"] = version
            params["n"] = limit + 1  # one extra row tells whether another page exists
            cur = await conn.execute(sql, params)
            rows = await cur.fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = rows[-1]
            key = (float(last[2]), int(last[1])) if len(last) > 2 else (int(last[1]),)
            next_cursor = self.codec.encode(CursorState(layer.name, version, query.fingerprint(layer.name), key))
        elapsed = (time.perf_counter() - started) * 1000
        return Batch(layer.name, version, [r[0] for r in rows], next_cursor, elapsed)

    async def stream(
        self,
        layer_name: str,
        query: FeatureQuery,
        *,
        batch_size: int = 500,
        cursor: str | None = None,
    ) -> AsyncIterator[Batch]:
        """Yield batches until the layer is exhausted; each batch's `next_cursor` resumes after it."""
        version: int | None = None
        while True:
            batch = await self.page(layer_name, query, limit=batch_size, cursor=cursor, version=version)
            version = batch.version
            yield batch
            if batch.next_cursor is None:
                return
            cursor = batch.next_cursor
