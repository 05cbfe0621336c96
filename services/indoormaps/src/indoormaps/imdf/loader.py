"""Load a cleaned IMDF dataset as a new data version, in one transaction.

The whole import runs inside `transaction.atomic()`: any failure (a bad geometry, a navPath
neighbour that does not exist) rolls everything back and the previous version stays current.
Re-importing identical input is a no-op (same sha256 as the current version) unless forced.
"""

# ruff: noqa: S608 - SQL text is built only from this module's constants; values are bound parameters

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indoormaps import navmodel as nm
from indoormaps.errors import ImdfError
from indoormaps.imdf import clean
from indoormaps.imdf.reader import Feature, ImdfDataset, read_imdf

__all__ = ["STAGES", "ImportReport", "import_imdf"]

STAGES = (
    "venue",
    "buildings",
    "levels",
    "units",
    "openings",
    "amenities",
    "base floor",
    "nav nodes",
    "nav edges",
    "doors",
    "elevators",
    "edge metrics",
    "publish",
)

_VERSIONED_TABLES = (
    "indoor_nav_edge",
    "indoor_nav_node",
    "indoor_base_floor",
    "indoor_amenity",
    "indoor_opening",
    "indoor_unit",
    "indoor_level",
    "indoor_building",
    "indoor_venue",
)
_GEOM = "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"
# Edge geometry is filled in by edge_metrics once every edge exists.
_PLACEHOLDER = "'SRID=4326;LINESTRING(0 0,0 0)'::geometry"
_IMPORT_LOCK = 7_140_001  # pg_advisory_xact_lock key: one import at a time


@dataclass
class ImportReport:
    version_id: int
    created: bool
    source_sha256: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# Nesting depth of `coordinates` and the minimum positions per innermost list, per geometry type.
_SHAPE = {
    "Point": (1, 0),
    "LineString": (2, 2),
    "MultiLineString": (3, 2),
    "Polygon": (3, 4),
    "MultiPolygon": (4, 4),
}


def _check_coordinates(value: Any, depth: int, min_positions: int) -> bool:
    # PostGIS quietly turns some malformed arrays into LINESTRING(0 0): check the shape ourselves.
    if depth == 1:
        return (
            isinstance(value, list)
            and 2 <= len(value) <= 3
            and all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in value)
        )
    if not isinstance(value, list) or not value:
        return False
    if depth == 2 and len(value) < min_positions:
        return False
    return all(_check_coordinates(item, depth - 1, min_positions) for item in value)


def _geojson(feature: Feature, allowed: Sequence[str]) -> str:
    geometry = feature.geometry
    kind = geometry.get("type") if geometry else None
    if not geometry or not isinstance(kind, str) or kind not in allowed:
        raise ImdfError(feature.source, f"geometry must be one of {list(allowed)}, got {kind}")
    depth, min_positions = _SHAPE[kind]
    if not _check_coordinates(geometry.get("coordinates"), depth, min_positions):
        raise ImdfError(feature.source, f"malformed {kind} coordinates")
    return json.dumps(geometry)


def _point(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("type") == "Point" and _check_coordinates(value.get("coordinates"), 1, 0):
        return json.dumps(value)
    return None


class _Loader:
    def __init__(self, cursor: Any, dataset: ImdfDataset, version_id: int) -> None:
        self.cur = cursor
        self.ds = dataset
        self.v = version_id
        self.lang = dataset.language

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self.cur.executemany(sql, rows)

    def ids(self, table: str) -> dict[str, int]:
        self.cur.execute(f"SELECT imdf_id::text, id FROM {table} WHERE version_id = %s", [self.v])
        return dict(self.cur.fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cur.execute(sql, params)
        row = self.cur.fetchone()
        return row[0] if row else None

    # -- stages ---------------------------------------------------------------------------------

    def venue(self) -> None:
        rows = []
        for f in self.ds.of("venue"):
            name, names = clean.localized(f.properties.get("name"), self.lang)
            uid = clean.as_uuid(f.id, f.source, "id")
            rows.append((self.v, uid, name or "", json.dumps(names), f.properties.get("category") or "",
                         _geojson(f, ("Polygon", "MultiPolygon"))))  # fmt: skip
        self.many(
            f"INSERT INTO indoor_venue (version_id, imdf_id, name, names, category, geom) "
            f"VALUES (%s, %s, %s, %s, %s, {_GEOM})",
            rows,
        )

    def buildings(self) -> None:
        rows = []
        for f in self.ds.of("building"):
            name, names = clean.localized(f.properties.get("name"), self.lang)
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), name or "", json.dumps(names),
                         f.properties.get("category") or "", _geojson(f, ("Polygon", "MultiPolygon")),
                         _point(f.properties.get("display_point"))))  # fmt: skip
        self.many(
            f"INSERT INTO indoor_building (version_id, imdf_id, name, names, category, geom, display_point) "
            f"VALUES (%s, %s, %s, %s, %s, {_GEOM}, {_GEOM})",
            rows,
        )
        self.building_ids = self.ids("indoor_building")

    def levels(self) -> None:
        nodes = self.ds.of("nav_node")
        node_level = {n.id: n.properties.get("level_id") for n in nodes}
        # Entrance floors: indoor nodes with an outdoor (level-less) neighbour.
        entrances: set[str] = set()
        for n in nodes:
            level = node_level[n.id]
            if isinstance(level, str) and any(
                node_level.get(m, "?") is None for m in n.properties.get("neighbours") or ()
            ):
                entrances.add(level)
        raw = []
        for f in self.ds.of("level"):
            buildings = f.properties.get("building_ids") or []
            building = buildings[0] if buildings and isinstance(buildings[0], str) else None
            ordinal = f.properties.get("ordinal")
            if not isinstance(ordinal, int) or isinstance(ordinal, bool):
                raise ImdfError(f.source, f"ordinal must be an integer, got {ordinal!r}")
            raw.append((f, building, ordinal))
        offsets = clean.ordinal_offsets(((f.id, b, o) for f, b, o in raw), entrances)
        rows = []
        for f, building, ordinal in raw:
            if building is not None and building not in self.building_ids:
                raise ImdfError(f.source, f"building {building} does not exist")
            name, _ = clean.localized(f.properties.get("name"), self.lang)
            short, _ = clean.localized(f.properties.get("short_name"), self.lang)
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), self.building_ids.get(building or ""),
                         ordinal + offsets.get(building, 0), ordinal, name or f"Level {ordinal}",
                         short or str(ordinal), bool(f.properties.get("outdoor")),
                         _geojson(f, ("Polygon", "MultiPolygon"))))  # fmt: skip
        self.many(
            "INSERT INTO indoor_level (version_id, imdf_id, building_id, ordinal, source_ordinal, name, "
            f"short_name, outdoor, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, {_GEOM})",
            rows,
        )
        self.level_ids = self.ids("indoor_level")
        self.level_outdoor = {f.id: bool(f.properties.get("outdoor")) for f, _, _ in raw}

    def _level(self, feature: Feature, required: bool = True) -> int | None:
        level = feature.properties.get("level_id")
        if level is None and not required:
            return None
        if level not in self.level_ids:
            raise ImdfError(feature.source, f"level_id {level!r} does not exist")
        return self.level_ids[level]

    def units(self) -> None:
        anchors = {a.id: a.properties.get("unit_id") for a in self.ds.of("anchor")}
        occupants: dict[str, list[dict[str, str]]] = {}
        for o in self.ds.of("occupant"):
            unit = anchors.get(o.properties.get("anchor_id") or "")
            if unit:
                for key in ("name", "shortName", "short_name"):
                    _, names = clean.localized(o.properties.get(key), self.lang)
                    if names:
                        occupants.setdefault(unit, []).append(names)
        rows = []
        for f in self.ds.of("unit"):
            name, names = clean.localized(f.properties.get("name"), self.lang)
            _, alt = clean.localized(f.properties.get("alt_name"), self.lang)
            extra = occupants.get(f.id, [])
            if name is None and extra:
                name, names = clean.localized(extra[0], self.lang)
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), self._level(f), name, json.dumps(names),
                         clean.search_text([names, alt, *extra]),
                         f.properties.get("category") or "unspecified",
                         f.properties.get("restriction"), _geojson(f, ("Polygon", "MultiPolygon")),
                         _point(f.properties.get("display_point"))))  # fmt: skip
        self.many(
            "INSERT INTO indoor_unit (version_id, imdf_id, level_id, name, names, search_name, category, "
            f"restriction, geom, label_point) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, {_GEOM}, "
            f"COALESCE({_GEOM}, ST_PointOnSurface({_GEOM})))",
            [(*r[:-1], r[-1], r[-2]) for r in rows],
        )
        self.unit_ids = self.ids("indoor_unit")

    def openings(self) -> None:
        rows = []
        for f in self.ds.of("opening"):
            props = f.properties
            category = clean.opening_category(
                props.get("category"), self.level_outdoor.get(props.get("level_id") or "", False)
            )
            access = props.get("accessibility")
            accessible = None if access is None else bool(access)
            door = props.get("door")
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), self._level(f), category,
                         props.get("unit_category", props.get("unit_categoty")),
                         json.dumps(door) if isinstance(door, dict) else None, accessible,
                         _geojson(f, ("LineString",))))  # fmt: skip
        self.many(
            "INSERT INTO indoor_opening (version_id, imdf_id, level_id, category, unit_category, door, "
            f"accessible, geom, midpoint) VALUES (%s, %s, %s, %s, %s, %s, %s, {_GEOM}, "
            f"ST_LineInterpolatePoint({_GEOM}, 0.5))",
            [(*r, r[-1]) for r in rows],
        )

    def amenities(self) -> None:
        rows = []
        for f in self.ds.of("amenity"):
            name, names = clean.localized(f.properties.get("name"), self.lang)
            units = [u for u in f.properties.get("unit_ids") or () if u in self.unit_ids]
            unit = self.unit_ids[units[0]] if units else None
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), unit,
                         f.properties.get("category") or "unspecified", name, json.dumps(names),
                         _geojson(f, ("Point",))))  # fmt: skip
        self.many(
            "INSERT INTO indoor_amenity (version_id, imdf_id, unit_id, category, name, names, geom, "
            "level_id) "
            f"VALUES (%s, %s, %s, %s, %s, %s, {_GEOM}, (SELECT level_id FROM indoor_unit WHERE id = %s))",
            [(*r, r[2]) for r in rows],
        )

    def base_floor(self) -> None:
        self.cur.execute(
            "INSERT INTO indoor_base_floor (version_id, imdf_id, level_id, kind, category, geom) "
            "SELECT version_id, imdf_id, id, 'outline', NULL, geom FROM indoor_level WHERE version_id = %s",
            [self.v],
        )
        rows = [
            (self.v, clean.as_uuid(f.id, f.source, "id"), self._level(f), f.properties.get("category"),
             _geojson(f, ("LineString", "MultiLineString", "Polygon", "MultiPolygon", "Point")))
            for f in self.ds.of("detail")
            if f.properties.get("level_id") is not None  # outdoor details belong to no floor
        ]  # fmt: skip
        self.many(
            "INSERT INTO indoor_base_floor (version_id, imdf_id, level_id, kind, category, geom) "
            f"VALUES (%s, %s, %s, 'detail', %s, {_GEOM})",
            rows,
        )

    def nav_nodes(self) -> None:
        rows = []
        for f in self.ds.of("nav_node"):
            weight = f.properties.get("weight", 1.0)
            if not isinstance(weight, int | float) or not math.isfinite(weight) or weight <= 0:
                raise ImdfError(f.source, f"weight must be a positive number, got {weight!r}")
            tags = [t for t in f.properties.get("tags") or () if isinstance(t, str)]
            building = clean.building_id(f.properties)
            rows.append((self.v, clean.as_uuid(f.id, f.source, "id"), self._level(f, required=False),
                         self.building_ids.get(building) if building else None, max(1.0, float(weight)),
                         json.dumps(tags), _geojson(f, ("Point",))))  # fmt: skip
        self.many(
            "INSERT INTO indoor_nav_node (version_id, imdf_id, level_id, building_id, kind, weight, tags, "
            "geom) "
            f"VALUES (%s, %s, %s, %s, 'path', %s, %s, {_GEOM})",
            rows,
        )

    def nav_edges(self) -> None:
        node_ids = self.ids("indoor_nav_node")
        pairs: set[tuple[int, int]] = set()
        for f in self.ds.of("nav_node"):
            for other in f.properties.get("neighbours") or ():
                if other not in node_ids:
                    raise ImdfError(f.source, f"neighbour {other!r} does not exist")
                a, b = node_ids[f.id], node_ids[other]
                if a != b:
                    pairs.add((min(a, b), max(a, b)))  # neighbour lists are not always symmetric
        self.many(
            "INSERT INTO indoor_nav_edge (version_id, source_id, target_id, kind, length_m, time_s, cost_s, "
            "reverse_cost_s, step_free, wheelchair, x1, y1, x2, y2, geom) "
            f"VALUES (%s, %s, %s, 'walkway', 0, 0, 0, 0, true, true, 0, 0, 0, 0, {_PLACEHOLDER})",
            [(self.v, a, b) for a, b in sorted(pairs)],
        )
        # Vertical edges: elevator if either end stands in an elevator unit, else stairs (the
        # conservative choice for step-free profiles); level <-> outdoor edges are entrances.
        self.cur.execute(
            """
            UPDATE indoor_nav_edge e SET kind = CASE
                WHEN s.level_id IS NULL OR t.level_id IS NULL THEN 'door'
                WHEN EXISTS (SELECT 1 FROM indoor_unit u WHERE u.version_id = e.version_id
                             AND u.category IN ('elevator', 'escalator', 'ramp')
                             AND u.level_id IN (s.level_id, t.level_id)
                             AND (ST_Intersects(u.geom, s.geom) OR ST_Intersects(u.geom, t.geom)))
                THEN (SELECT u.category FROM indoor_unit u WHERE u.version_id = e.version_id
                      AND u.category IN ('elevator', 'escalator', 'ramp')
                      AND u.level_id IN (s.level_id, t.level_id)
                      AND (ST_Intersects(u.geom, s.geom) OR ST_Intersects(u.geom, t.geom)) LIMIT 1)
                ELSE 'stairs' END,
                is_vertical = (s.level_id IS NOT NULL AND t.level_id IS NOT NULL)
            FROM indoor_nav_node s, indoor_nav_node t
            WHERE e.version_id = %s AND s.id = e.source_id AND t.id = e.target_id
              AND s.level_id IS DISTINCT FROM t.level_id
            """,
            [self.v],
        )

    def doors(self) -> None:
        lat = self.scalar("SELECT ST_Y(ST_Centroid(geom)) FROM indoor_venue WHERE version_id = %s LIMIT 1", [self.v])
        # Degrees that surely cover MAX_DOOR_LINK_M in longitude at this latitude (index prefilter).
        radius_deg = nm.MAX_DOOR_LINK_M / (111_320.0 * max(0.05, math.cos(math.radians(lat or 0.0))))
        self.cur.execute(
            "INSERT INTO indoor_nav_node (version_id, imdf_id, level_id, building_id, kind, weight, tags, "
            "opening_id, geom) SELECT o.version_id, o.imdf_id, o.level_id, l.building_id, 'door', 1.0, "
            "'[]', o.id, o.midpoint FROM indoor_opening o JOIN indoor_level l ON l.id = o.level_id "
            "WHERE o.version_id = %s",
            [self.v],
        )
        self.cur.execute(
            f"""
            INSERT INTO indoor_nav_edge (version_id, source_id, target_id, kind, length_m, time_s, cost_s,
                reverse_cost_s, step_free, wheelchair, x1, y1, x2, y2, geom)
            SELECT d.version_id, d.id, n.id, 'door', 0, 0, 0, 0, true, true, 0, 0, 0, 0, {_PLACEHOLDER}
            FROM indoor_nav_node d
            CROSS JOIN LATERAL (
                SELECT p.id FROM indoor_nav_node p
                WHERE p.version_id = d.version_id AND p.kind = 'path' AND p.level_id = d.level_id
                  AND ST_DWithin(p.geom, d.geom, %s)
                  AND ST_DistanceSphere(p.geom, d.geom) <= %s
                ORDER BY ST_DistanceSphere(p.geom, d.geom), p.id LIMIT 1
            ) n
            WHERE d.version_id = %s AND d.kind = 'door'
            """,
            [radius_deg, nm.MAX_DOOR_LINK_M, self.v],
        )

    def elevators(self) -> None:
        # One cabin node per elevator unit, joined to the unit's doors and to the stacked cabin on
        # the next level of the same building: the campus nav graph has stairs but no elevators.
        self.cur.execute(
            """
            INSERT INTO indoor_nav_node (version_id, imdf_id, level_id, building_id, kind, weight, tags,
                unit_id, geom)
            SELECT u.version_id, u.imdf_id, u.level_id, l.building_id, 'elevator', 1.0, '[]', u.id,
                   u.label_point
            FROM indoor_unit u JOIN indoor_level l ON l.id = u.level_id
            WHERE u.version_id = %s AND (u.category = 'elevator' OR EXISTS (
                SELECT 1 FROM indoor_amenity a WHERE a.unit_id = u.id AND a.category = 'elevator'))
            """,
            [self.v],
        )
        self.cur.execute(
            f"""
            INSERT INTO indoor_nav_edge (version_id, source_id, target_id, kind, length_m, time_s, cost_s,
                reverse_cost_s, step_free, wheelchair, x1, y1, x2, y2, geom)
            SELECT c.version_id, c.id, d.id, 'walkway', 0, 0, 0, 0, true, true, 0, 0, 0, 0, {_PLACEHOLDER}
            FROM indoor_nav_node c
            JOIN indoor_unit u ON u.id = c.unit_id
            JOIN indoor_opening o ON o.version_id = c.version_id AND o.level_id = u.level_id
                 AND ST_DWithin(o.geom, u.geom, 1e-6)
            JOIN indoor_nav_node d ON d.opening_id = o.id
            WHERE c.version_id = %s AND c.kind = 'elevator'
            """,
            [self.v],
        )
        self.cur.execute(
            f"""
            INSERT INTO indoor_nav_edge (version_id, source_id, target_id, kind, is_vertical, length_m,
                time_s, cost_s, reverse_cost_s, step_free, wheelchair, x1, y1, x2, y2, geom)
            SELECT a.version_id, a.id, b.id, 'elevator', true, 0, 0, 0, 0, true, true, 0, 0, 0, 0,
                   {_PLACEHOLDER}
            FROM indoor_nav_node a
            JOIN indoor_level la ON la.id = a.level_id
            JOIN indoor_unit ua ON ua.id = a.unit_id
            JOIN LATERAL (
                SELECT b.id, b.unit_id FROM indoor_nav_node b JOIN indoor_level lb ON lb.id = b.level_id
                WHERE b.version_id = a.version_id AND b.kind = 'elevator'
                  AND lb.building_id IS NOT DISTINCT FROM la.building_id AND lb.ordinal > la.ordinal
                ORDER BY lb.ordinal, b.id LIMIT 1
            ) nb ON true
            JOIN indoor_nav_node b ON b.id = nb.id
            JOIN indoor_unit ub ON ub.id = b.unit_id
            WHERE a.version_id = %s AND a.kind = 'elevator' AND ST_Intersects(ua.geom, ub.geom)
              AND ST_Area(ST_Intersection(ua.geom, ub.geom))
                  >= 0.5 * LEAST(ST_Area(ua.geom), ST_Area(ub.geom))
            """,
            [self.v],
        )

    def edge_metrics(self) -> None:
        srid = int(
            self.scalar(
                "SELECT CASE WHEN ST_Y(c) >= 0 THEN 32600 ELSE 32700 END"
                " + LEAST(60, floor((ST_X(c) + 180) / 6)::int + 1)"
                " FROM (SELECT ST_Centroid(geom) AS c FROM indoor_venue WHERE version_id = %s LIMIT 1) v",
                [self.v],
            )
        )
        eps = nm.EPSILON_SQL.format(id="e.id")
        self.cur.execute(
            f"""
            WITH m AS (
                SELECT e.id,
                       ST_MakeLine(s.geom, t.geom) AS line,
                       ST_Length(ST_MakeLine(s.geom, t.geom)::geography) AS flat,
                       abs(coalesce(ls.ordinal, 0) - coalesce(lt.ordinal, 0)) * {nm.LEVEL_HEIGHT_M} AS rise,
                       GREATEST(s.weight, t.weight) AS factor,
                       (s.tags ? 'dirt' OR t.tags ? 'dirt') AS unpaved,
                       coalesce(o.accessible, true) AS door_ok,
                       ST_Transform(s.geom, %(srid)s) AS ps, ST_Transform(t.geom, %(srid)s) AS pt
                FROM indoor_nav_edge e
                JOIN indoor_nav_node s ON s.id = e.source_id
                JOIN indoor_nav_node t ON t.id = e.target_id
                LEFT JOIN indoor_level ls ON ls.id = s.level_id
                LEFT JOIN indoor_level lt ON lt.id = t.level_id
                LEFT JOIN indoor_opening o ON o.id = coalesce(s.opening_id, t.opening_id)
                WHERE e.version_id = %(v)s
            ), l AS (
                SELECT m.*, CASE
                    WHEN e.kind IN ('stairs', 'escalator', 'ramp') AND e.is_vertical
                        THEN m.flat + {nm.STAIR_RUN_FACTOR} * m.rise
                    WHEN e.kind = 'elevator' AND e.is_vertical THEN m.rise
                    ELSE m.flat END AS length
                FROM m JOIN indoor_nav_edge e ON e.id = m.id
            )
            UPDATE indoor_nav_edge e SET
                geom = l.line,
                length_m = l.length,
                level_id = CASE WHEN NOT e.is_vertical THEN s.level_id END,
                surface = CASE WHEN l.unpaved THEN 'unpaved' ELSE 'paved' END,
                time_s = CASE e.kind
                    WHEN 'stairs' THEN l.length / {nm.STAIRS_SPEED_MPS}
                    WHEN 'escalator' THEN l.length / {nm.ESCALATOR_SPEED_MPS}
                    WHEN 'ramp' THEN l.length / {nm.RAMP_SPEED_MPS}
                    WHEN 'elevator' THEN CASE WHEN e.is_vertical
                        THEN {nm.ELEVATOR_WAIT_S} + l.rise / {nm.ELEVATOR_SPEED_MPS}
                        ELSE l.length / {nm.WALK_SPEED_MPS} END
                    ELSE l.length / {nm.WALK_SPEED_MPS} * l.factor END,
                step_free = e.kind NOT IN ('stairs', 'escalator'),
                wheelchair = e.kind NOT IN ('stairs', 'escalator') AND NOT l.unpaved AND l.door_ok,
                x1 = ST_X(l.ps), y1 = ST_Y(l.ps), x2 = ST_X(l.pt), y2 = ST_Y(l.pt)
            FROM l, indoor_nav_node s
            WHERE e.id = l.id AND s.id = e.source_id
            """,
            {"srid": srid, "v": self.v},
        )
        self.cur.execute(
            f"UPDATE indoor_nav_edge e SET cost_s = time_s + {eps}, reverse_cost_s = time_s + {eps} "
            "WHERE version_id = %s",
            [self.v],
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key, table in (
            ("venues", "indoor_venue"),
            ("buildings", "indoor_building"),
            ("levels", "indoor_level"),
            ("units", "indoor_unit"),
            ("openings", "indoor_opening"),
            ("amenities", "indoor_amenity"),
            ("base_floor", "indoor_base_floor"),
            ("nav_nodes", "indoor_nav_node"),
            ("nav_edges", "indoor_nav_edge"),
        ):
            counts[key] = int(self.scalar(f"SELECT count(*) FROM {table} WHERE version_id = %s", [self.v]))
        self.cur.execute("SELECT kind, count(*) FROM indoor_nav_edge WHERE version_id = %s GROUP BY kind", [self.v])
        counts.update({f"edges_{kind}": int(n) for kind, n in self.cur.fetchall()})
        self.cur.execute("SELECT kind, count(*) FROM indoor_nav_node WHERE version_id = %s GROUP BY kind", [self.v])
        counts.update({f"nodes_{kind}": int(n) for kind, n in self.cur.fetchall()})
        counts["graph_components"] = int(
            self.scalar(
                "SELECT count(DISTINCT component) FROM pgr_connectedComponents("
                "'SELECT id, source_id AS source, target_id AS target, cost_s AS cost, "
                f"reverse_cost_s AS reverse_cost FROM indoor_nav_edge WHERE version_id = {int(self.v)}')"
            )
        )
        return counts

    def publish(self, keep_versions: int) -> None:
        self.cur.execute("UPDATE indoor_data_version SET is_current = false WHERE is_current")
        self.cur.execute("UPDATE indoor_data_version SET is_current = true WHERE id = %s", [self.v])
        self.cur.execute(
            "SELECT id FROM indoor_data_version WHERE id NOT IN "
            "(SELECT id FROM indoor_data_version ORDER BY id DESC LIMIT %s)",
            [keep_versions],
        )
        stale = [row[0] for row in self.cur.fetchall()]
        if stale:
            for table in _VERSIONED_TABLES:
                self.cur.execute(f"DELETE FROM {table} WHERE version_id = ANY(%s)", [stale])
            self.cur.execute("DELETE FROM indoor_data_version WHERE id = ANY(%s)", [stale])


def import_imdf(
    source: Path | ImdfDataset,
    *,
    force: bool = False,
    keep_versions: int = 2,
    progress: Callable[[str], None] | None = None,
    using: str = "default",
) -> ImportReport:
    """Import an IMDF folder/zip (or an already read dataset) as a new current data version.

    `keep_versions` (>= 2) versions are retained so streams that started on the previous version
    can finish; older ones are purged in the same transaction.
    """
    from django.db import DatabaseError, connections, transaction

    if keep_versions < 2:
        raise ValueError("keep_versions must be at least 2 so running streams keep their snapshot")
    started = time.perf_counter()
    dataset = source if isinstance(source, ImdfDataset) else read_imdf(source)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
        cursor.execute("SELECT id, source_sha256, counts FROM indoor_data_version WHERE is_current")
        current = cursor.fetchone()
        if current and current[1] == dataset.sha256 and not force:
            counts = current[2] if isinstance(current[2], dict) else json.loads(current[2])
            return ImportReport(current[0], False, dataset.sha256, counts, dataset.skipped,
                                time.perf_counter() - started)  # fmt: skip
        cursor.execute(
            "INSERT INTO indoor_data_version (source_name, source_sha256, created_at, is_current, counts, "
            "import_seconds) VALUES (%s, %s, now(), false, '{}', 0) RETURNING id",
            [dataset.source_name, dataset.sha256],
        )
        version_id = int(cursor.fetchone()[0])
        loader = _Loader(cursor, dataset, version_id)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("venue", loader.venue),
            ("buildings", loader.buildings),
            ("levels", loader.levels),
            ("units", loader.units),
            ("openings", loader.openings),
            ("amenities", loader.amenities),
            ("base floor", loader.base_floor),
            ("nav nodes", loader.nav_nodes),
            ("nav edges", loader.nav_edges),
            ("doors", loader.doors),
            ("elevators", loader.elevators),
            ("edge metrics", loader.edge_metrics),
            ("publish", lambda: loader.publish(keep_versions)),
        ]
        for name, step in steps:
            try:
                step()
            except DatabaseError as exc:
                # A geometry PostGIS rejects, etc.: report it as bad input, and roll back.
                raise ImdfError(f"{dataset.source_name} ({name})", str(exc).strip().splitlines()[0]) from exc
            if progress is not None:
                progress(name)
        counts = loader.counts()
        seconds = time.perf_counter() - started
        cursor.execute(
            "UPDATE indoor_data_version SET counts = %s, import_seconds = %s WHERE id = %s",
            [json.dumps(counts), seconds, version_id],
        )
    return ImportReport(version_id, True, dataset.sha256, counts, dataset.skipped, seconds)
