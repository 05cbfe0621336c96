"""Routing in PostGIS with pgRouting (pgr_dijkstra or pgr_aStar) over one data version's edges."""

# ruff: noqa: S608 - SQL text is built from the profile table and an int version; values are bound

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from indoormaps import navmodel as nm
from indoormaps.db import Database
from indoormaps.errors import InvalidParameter, NoDataLoaded, RouteNotFound, SnapshotExpired
from indoormaps.routing.anchors import resolve_anchor
from indoormaps.routing.assemble import assemble_route
from indoormaps.routing.model import PROFILE_EDGE_FILTER, Algorithm, Anchor, Endpoint, Profile, Route
from indoormaps.routing.paths import PathTable, choose_path

__all__ = ["MAX_VIA", "PgRouter", "Reach", "edges_sql"]

MAX_VIA = 8


def edges_sql(version: int, profile: Profile, algorithm: Algorithm) -> str:
    """The inner SQL pgRouting runs; the version is an int and the filter a constant."""
    coords = ", x1, y1, x2, y2" if algorithm is Algorithm.ASTAR else ""
    return (
        "SELECT id, source_id AS source, target_id AS target, cost_s AS cost, reverse_cost_s AS reverse_cost"
        f"{coords} FROM indoor_nav_edge WHERE version_id = {int(version)} AND {PROFILE_EDGE_FILTER[profile]}"
    )


@dataclass(frozen=True)
class Reach:
    room: str
    name: str | None
    level: int
    seconds: float


async def _version(conn: Any, version: int | None) -> int:
    if version is None:
        cur = await conn.execute("SELECT id FROM indoor_data_version WHERE is_current")
        row = await cur.fetchone()
        if row is None:
            raise NoDataLoaded("no data imported yet: run `indoormaps import imdf PATH`")
        return int(row[0])
    cur = await conn.execute("SELECT 1 FROM indoor_data_version WHERE id = %s", (version,))
    if await cur.fetchone() is None:
        raise SnapshotExpired(f"data version {version} no longer exists")
    return version


async def path_table(
    conn: Any,
    version: int,
    profile: Profile,
    algorithm: Algorithm,
    sources: Sequence[int],
    targets: Sequence[int],
) -> PathTable:
    """Shortest paths for every (source, target) pair in one pgRouting call."""
    sources, targets = sorted(set(sources)), sorted(set(targets))
    if not sources or not targets:
        return {}
    inner = edges_sql(version, profile, algorithm)
    if algorithm is Algorithm.ASTAR:
        # One-to-one calls per pair: pgRouting 3.4's many-to-many pgr_aStar returned costlier-than-
        # optimal paths for ~1 % of pairs here (one-to-one never did), so pairs are run one by one.
        pairs = [(s, t) for s in sources for t in targets if s != t]
        sql = (
            "SELECT p.s, p.t, r.node, r.edge, r.agg_cost FROM unnest(%s::bigint[], %s::bigint[]) AS p(s, t) "
            "CROSS JOIN LATERAL pgr_aStar(%s, p.s, p.t, directed => true, heuristic => 4, factor => %s, "
            "epsilon => 1) AS r ORDER BY p.s, p.t, r.path_seq"
        )
        params: tuple[Any, ...] = ([s for s, _ in pairs], [t for _, t in pairs], inner, nm.ASTAR_FACTOR)
    else:
        sql = (
            "SELECT start_vid, end_vid, node, edge, agg_cost "
            "FROM pgr_dijkstra(%s, %s::bigint[], %s::bigint[], directed => true) ORDER BY seq"
        )
        params = (inner, sources, targets)
    cur = await conn.execute(sql, params)
    nodes: dict[tuple[int, int], list[int]] = defaultdict(list)
    edges: dict[tuple[int, int], list[int]] = defaultdict(list)
    cost: dict[tuple[int, int], float] = {}
    for start, end, node, edge, agg in await cur.fetchall():
        key = (int(start), int(end))
        nodes[key].append(int(node))
        if edge != -1:
            edges[key].append(int(edge))
        else:
            cost[key] = float(agg)
    return {key: (cost[key], tuple(nodes[key]), tuple(edges[key])) for key in cost}


@dataclass
class PgRouter:
    db: Database

    async def route(
        self,
        origin: Endpoint,
        destination: Endpoint,
        *,
        via: Sequence[Endpoint] = (),
        profile: Profile = Profile.DEFAULT,
        algorithm: Algorithm = Algorithm.DIJKSTRA,
        version: int | None = None,
    ) -> Route:
        if len(via) > MAX_VIA:
            raise InvalidParameter("via", f"at most {MAX_VIA} waypoints")
        started = time.perf_counter()
        async with self.db.read() as conn:
            version = await _version(conn, version)
            anchors: list[Anchor] = []
            for endpoint in (origin, *via, destination):
                anchors.append(await resolve_anchor(conn, version, endpoint, profile))
            legs = []
            for index, (a, b) in enumerate(itertools.pairwise(anchors)):
                table = await path_table(
                    conn, version, profile, algorithm,
                    [c.node for c in a.candidates], [c.node for c in b.candidates],
                )  # fmt: skip
                leg = choose_path(a, b, table)
                if leg is None:
                    raise RouteNotFound(
                        f"no {profile.value} route from {a.label} to {b.label}" + (f" (leg {index + 1})" if via else "")
                    )
                legs.append(leg)
            route = await assemble_route(
                conn, version=version, profile=profile, algorithm=algorithm, anchors=anchors, legs=legs
            )
        route.elapsed_ms = (time.perf_counter() - started) * 1000
        return route

    async def anchors(
        self, endpoints: Sequence[Endpoint], profile: Profile, version: int | None = None
    ) -> list[Anchor]:
        async with self.db.read() as conn:
            version = await _version(conn, version)
            return [await resolve_anchor(conn, version, e, profile) for e in endpoints]

    async def path_table(
        self,
        version: int,
        profile: Profile,
        algorithm: Algorithm,
        sources: Sequence[int],
        targets: Sequence[int],
    ) -> PathTable:
        async with self.db.read() as conn:
            return await path_table(conn, version, profile, algorithm, sources, targets)

    async def reachable_rooms(
        self,
        origin: Endpoint,
        *,
        max_seconds: float,
        profile: Profile = Profile.DEFAULT,
        version: int | None = None,
    ) -> list[Reach]:
        """Isochrone: rooms whose door can be reached within `max_seconds` (nearest first)."""
        if not 0 < max_seconds <= 3600:
            raise InvalidParameter("max_seconds", "must lie in (0, 3600]")
        async with self.db.read() as conn:
            version = await _version(conn, version)
            anchor = await resolve_anchor(conn, version, origin, profile)
            offsets = {c.node: c.offset_cost for c in anchor.candidates}
            cur = await conn.execute(
                """
                WITH reach AS (
                    SELECT from_v, node, agg_cost
                    FROM pgr_drivingDistance(%s, %s::bigint[], %s, directed => true)
                    UNION ALL SELECT n, n, 0 FROM unnest(%s::bigint[]) AS n
                )
                SELECT u.imdf_id::text, u.name, l.ordinal, r.from_v, r.agg_cost
                FROM reach r
                JOIN indoor_nav_node d ON d.id = r.node AND d.kind = 'door'
                JOIN indoor_opening o ON o.id = d.opening_id
                JOIN indoor_unit u ON u.version_id = o.version_id AND u.level_id = o.level_id
                     AND ST_DWithin(o.geom, u.geom, 1e-6)
                JOIN indoor_level l ON l.id = u.level_id
                """,
                (
                    edges_sql(version, profile, Algorithm.DIJKSTRA),
                    sorted(offsets),
                    max_seconds,
                    sorted(offsets),
                ),
            )
            best: dict[str, Reach] = {}
            for room, name, level, from_v, agg in await cur.fetchall():
                seconds = float(agg) + offsets.get(int(from_v), 0.0)
                if seconds <= max_seconds and (room not in best or seconds < best[room].seconds):
                    best[room] = Reach(room, name, int(level), seconds)
        return sorted(best.values(), key=lambda r: (r.seconds, r.room))
