"""Snap endpoints onto the navigation graph of one data version and profile.

A room is entered through its doors (each door node is a candidate, the walk from the room's
label point to the door is the offset). A point is snapped to the nearest edge on the same level
(outdoors when level is None); both ends of that edge are candidates, with the partial edge as
the offset. Both routers (pgRouting and the oracle) start from the same anchors.
"""

# ruff: noqa: S608 - SQL text is built from module constants and the profile table; values are bound

from __future__ import annotations

import json
from typing import Any

from indoormaps import navmodel as nm
from indoormaps.errors import InvalidParameter, NotFound
from indoormaps.routing.model import (
    PROFILE_EDGE_FILTER,
    Anchor,
    Candidate,
    Endpoint,
    PointEndpoint,
    Profile,
    RoomEndpoint,
)

__all__ = ["resolve_anchor"]

_SNAP_RADIUS_M = 50.0


async def _room(conn: Any, version: int, endpoint: RoomEndpoint, profile: Profile) -> Anchor:
    cur = await conn.execute(
        "SELECT u.id, coalesce(u.name, u.category), l.ordinal, ST_X(u.label_point), ST_Y(u.label_point) "
        "FROM indoor_unit u JOIN indoor_level l ON l.id = u.level_id "
        "WHERE u.version_id = %s AND u.imdf_id = %s",
        (version, endpoint.room),
    )
    room = await cur.fetchone()
    if room is None:
        raise NotFound(f"no room {endpoint.room} in data version {version}")
    unit_id, label, ordinal, lon, lat = room
    edge_filter = PROFILE_EDGE_FILTER[profile]
    cur = await conn.execute(
        f"""
        SELECT d.id, ST_DistanceSphere(u.label_point, d.geom), ST_X(d.geom), ST_Y(d.geom),
               d.level_id, l.ordinal, l.short_name
        FROM indoor_unit u
        JOIN indoor_opening o ON o.version_id = u.version_id AND o.level_id = u.level_id
             AND ST_DWithin(o.geom, u.geom, 1e-6)
        JOIN indoor_nav_node d ON d.opening_id = o.id
        JOIN indoor_level l ON l.id = d.level_id
        WHERE u.id = %s AND (
            EXISTS (SELECT 1 FROM indoor_nav_edge e WHERE e.source_id = d.id AND {edge_filter})
            OR EXISTS (SELECT 1 FROM indoor_nav_edge e WHERE e.target_id = d.id AND {edge_filter}))
        ORDER BY d.id
        """,
        (unit_id,),
    )
    candidates = tuple(
        Candidate(node, dist / nm.WALK_SPEED_MPS, dist, ((lon, lat), (x, y)), level_id, lvl, short)
        for node, dist, x, y, level_id, lvl, short in await cur.fetchall()
    )
    if candidates:
        return Anchor(endpoint, label, candidates)
    # A room without a linked door: walk from its label point to the nearest edge on its level.
    anchor = await _point(conn, version, PointEndpoint(lon, lat, ordinal), profile)
    return Anchor(endpoint, label, anchor.candidates)


def _positions(value: Any) -> list[tuple[float, ...]]:
    """Coordinates of ST_LineSubstring's result: a point snapped onto an edge's end makes the
    substring degenerate, and PostGIS returns a Point (one position), not a LineString."""
    data = json.loads(value) if isinstance(value, str) else value
    if data and isinstance(data[0], int | float):
        return [tuple(data)]
    return [tuple(c) for c in data]


async def _point(conn: Any, version: int, endpoint: PointEndpoint, profile: Profile) -> Anchor:
    edge_filter = PROFILE_EDGE_FILTER[profile]
    level_clause = "l.ordinal = %(level)s" if endpoint.level is not None else "e.level_id IS NULL"
    cur = await conn.execute(
        f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
        near AS (
            SELECT e.* FROM indoor_nav_edge e LEFT JOIN indoor_level l ON l.id = e.level_id, p
            WHERE e.version_id = %(v)s AND NOT e.is_vertical AND {edge_filter} AND {level_clause}
            ORDER BY e.geom <-> p.g LIMIT 16
        ), best AS (
            SELECT near.*, ST_LineLocatePoint(near.geom, p.g) AS f,
                   ST_DistanceSphere(near.geom, p.g) AS d
            FROM near, p ORDER BY d, near.id LIMIT 1
        )
        SELECT b.source_id, b.target_id, b.cost_s, b.reverse_cost_s, b.length_m, b.f, b.d,
               ST_AsGeoJSON(ST_LineSubstring(b.geom, 0, b.f), 9)::json -> 'coordinates',
               ST_AsGeoJSON(ST_LineSubstring(b.geom, b.f, 1), 9)::json -> 'coordinates',
               b.level_id, l.ordinal, l.short_name
        FROM best b LEFT JOIN indoor_level l ON l.id = b.level_id
        """,
        {"lon": endpoint.lon, "lat": endpoint.lat, "v": version, "level": endpoint.level},
    )
    row = await cur.fetchone()
    if row is None or row[6] > _SNAP_RADIUS_M:
        where = "outdoors" if endpoint.level is None else f"on level {endpoint.level}"
        raise InvalidParameter("point", f"no walkable edge {where} within {_SNAP_RADIUS_M:.0f} m of the point")
    source, target, cost, reverse_cost, length, f, _, head, tail, level_id, ordinal, short = row
    head, tail = _positions(head), _positions(tail)
    start = (endpoint.lon, endpoint.lat)
    # Offsets are symmetric here: the walk from the point to a node equals the walk back.
    to_source = Candidate(source, f * reverse_cost, f * length, (start, *reversed(head)), level_id, ordinal, short)
    to_target = Candidate(target, (1 - f) * cost, (1 - f) * length, (start, *tail), level_id, ordinal, short)
    label = f"point ({endpoint.lon:.6f}, {endpoint.lat:.6f})"
    return Anchor(endpoint, label, (to_source, to_target))


async def resolve_anchor(conn: Any, version: int, endpoint: Endpoint, profile: Profile) -> Anchor:
    if isinstance(endpoint, RoomEndpoint):
        return await _room(conn, version, endpoint, profile)
    return await _point(conn, version, endpoint, profile)
