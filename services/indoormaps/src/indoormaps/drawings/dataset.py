"""Turn drawing features (already in lon/lat) into an IMDF-shaped dataset the IMDF loader imports.

One building with one level per ordinal given on the command line; venue, building and level
outlines are the bounding boxes of what was drawn. Rooms take their names from a `name` property
or from the label text standing inside them; walkway polylines become nav nodes and neighbours.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from indoormaps.drawings.mapping import LayerMapping, Role
from indoormaps.errors import DrawingError
from indoormaps.imdf.reader import Feature, ImdfDataset

__all__ = ["DrawnFeature", "LevelSpec", "build_dataset"]

_NAMESPACE = uuid.UUID("8f0c2f7e-3a51-4d7c-9a55-3c1f0e5d2b10")
Position = list[float]


@dataclass(frozen=True)
class LevelSpec:
    ordinal: int
    name: str | None = None


@dataclass(frozen=True)
class DrawnFeature:
    """A GDAL feature with the file it came from and the level it was imported on."""

    file: str
    index: int
    level: int
    raw: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        props = self.raw.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def geometry(self) -> dict[str, Any] | None:
        geometry = self.raw.get("geometry")
        return geometry if isinstance(geometry, dict) else None

    @property
    def key(self) -> str:
        # DXF entity handles are stable across saves of the same drawing; else the position in the file.
        handle = self.properties.get("EntityHandle")
        return f"{self.file}:{handle if isinstance(handle, str) and handle else self.index}"

    def prop(self, name: str) -> Any:
        """A property by name, case-insensitively (GDAL writes `Layer`, GeoJSON authors `layer`)."""
        wanted = name.casefold()
        for key, value in self.properties.items():
            if key.casefold() == wanted:
                return value
        return None


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _positions(geometry: dict[str, Any]) -> Iterable[Position]:
    def walk(value: Any) -> Iterable[Position]:
        if isinstance(value, list) and value and isinstance(value[0], int | float):
            yield value
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    if geometry.get("type") == "GeometryCollection":
        for part in geometry.get("geometries") or ():
            if isinstance(part, dict):
                yield from _positions(part)
    else:
        yield from walk(geometry.get("coordinates"))


def _lines(geometry: dict[str, Any]) -> list[list[Position]]:
    kind = geometry.get("type")
    if kind == "LineString":
        return [geometry["coordinates"]]
    if kind == "MultiLineString":
        return list(geometry["coordinates"])
    if kind == "GeometryCollection":
        return [line for part in geometry.get("geometries") or () if isinstance(part, dict) for line in _lines(part)]
    return []


def _length(line: Sequence[Position]) -> float:
    return sum(math.dist(a[:2], b[:2]) for a, b in itertools.pairwise(line))


def _is_closed(line: Sequence[Position]) -> bool:
    return len(line) >= 4 and list(line[0][:2]) == list(line[-1][:2])


def _as_area(geometry: dict[str, Any]) -> dict[str, Any] | None:
    """Polygons as they are; closed polylines (how DXF draws rooms) as polygons; else None."""
    if geometry.get("type") in ("Polygon", "MultiPolygon"):
        return geometry
    closed = [line for line in _lines(geometry) if _is_closed(line)]
    if len(closed) == 1:
        return {"type": "Polygon", "coordinates": [closed[0]]}
    if closed:
        return {"type": "MultiPolygon", "coordinates": [[line] for line in closed]}
    return None


def _inside(point: Sequence[float], ring: Sequence[Position]) -> bool:
    x, y = point[0], point[1]
    inside = False
    for (x1, y1, *_), (x2, y2, *_) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _contains(area: dict[str, Any], point: Sequence[float]) -> bool:
    polygons = area["coordinates"] if area["type"] == "MultiPolygon" else [area["coordinates"]]
    return any(
        _inside(point, polygon[0]) and not any(_inside(point, hole) for hole in polygon[1:]) for polygon in polygons
    )


def _bbox_polygon(positions: Iterable[Position], source: str) -> dict[str, Any]:
    xs, ys = [], []
    for p in positions:
        xs.append(p[0])
        ys.append(p[1])
    if not xs:
        raise DrawingError(source, "nothing mapped was drawn: check the layer mapping")
    minx, miny, maxx, maxy = min(xs), min(ys), max(xs), max(ys)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise DrawingError(
            source,
            f"coordinates reach ({minx:.1f}, {miny:.1f}) to ({maxx:.1f}, {maxy:.1f}), outside lon/lat: "
            "give the drawing's coordinate system with --source-crs (e.g. EPSG:32636)",
        )
    pad = 1e-6  # degenerate drawings (one line) still get an area
    ring = [[minx - pad, miny - pad], [maxx + pad, miny - pad], [maxx + pad, maxy + pad], [minx - pad, maxy + pad]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _names(text: str | None) -> dict[str, str]:
    return {"en": text} if text else {}


def build_dataset(
    features: Sequence[DrawnFeature],
    *,
    mapping: LayerMapping,
    levels: Sequence[LevelSpec],
    source_name: str,
    content_sha256: str,
    building_name: str,
    layer_of: Any,
) -> ImdfDataset:
    """`layer_of(feature) -> str` names each feature's layer (DXF layer, GeoJSON property or file)."""
    venue_id, building_id = _uid(content_sha256, "venue"), _uid(content_sha256, "building")
    level_ids = {spec.ordinal: _uid(content_sha256, "level", spec.ordinal) for spec in levels}
    out: dict[str, list[Feature]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    units: list[tuple[DrawnFeature, dict[str, Any], str]] = []
    labels: list[tuple[int, str, Position]] = []
    nav_lines: list[tuple[int, list[Position]]] = []
    drawn: dict[int, list[Position]] = defaultdict(list)

    for f in features:
        geometry = f.geometry
        layer = str(layer_of(f) or "")
        where = f"{f.key} (layer {layer!r})"
        role = mapping.classify(layer)
        if geometry is None or role is None:
            skipped[f"layer:{layer}" if role is None else "no-geometry"] += 1
            continue
        kind, category = role
        level_id = level_ids[f.level]
        if kind is Role.UNIT:
            area = _as_area(geometry)
            if area is None:
                skipped["units:not-closed"] += 1
                continue
            unit_category = f.prop("category") if isinstance(f.prop("category"), str) else category
            units.append((f, area, unit_category or "room"))
            drawn[f.level] += _positions(area)
        elif kind is Role.OPENING:
            lines = [line for line in _lines(geometry) if len(line) >= 2 and _length(line) > 0]
            if not lines:
                skipped["openings:not-a-line"] += 1
                continue
            door = max(lines, key=_length)
            out["opening"].append(Feature(_uid(f.key, "opening"), {"type": "LineString", "coordinates": door},
                                          {"level_id": level_id, "category": "pedestrian"}, where))  # fmt: skip
            drawn[f.level] += door
        elif kind is Role.BASE_FLOOR:
            detail_category = f.prop("category") if isinstance(f.prop("category"), str) else layer
            out["detail"].append(Feature(_uid(f.key, "detail"), geometry,
                                         {"level_id": level_id, "category": detail_category}, where))  # fmt: skip
            drawn[f.level] += _positions(geometry)
        elif kind is Role.LABEL:
            text = f.prop("text") if isinstance(f.prop("text"), str) else f.prop("name")
            if geometry.get("type") == "Point" and isinstance(text, str) and text.strip():
                labels.append((f.level, text.strip(), geometry["coordinates"]))
            else:
                skipped["labels:not-a-text-point"] += 1
        else:
            for line in _lines(geometry):
                nav_lines.append((f.level, line))
                drawn[f.level] += line

    for f, area, unit_category in units:
        name = f.prop("name") if isinstance(f.prop("name"), str) and f.prop("name") else None
        display = None
        for level, text, point in labels:
            if level == f.level and _contains(area, point):
                name = name or text
                display = {"type": "Point", "coordinates": point[:2]}
                break
        props: dict[str, Any] = {"level_id": level_ids[f.level], "category": unit_category, "name": _names(name),
                 "display_point": display}  # fmt: skip
        out["unit"].append(Feature(_uid(f.key, "unit"), area, props, f"{f.key} (unit)"))

    _nav_nodes(nav_lines, level_ids, out)

    everything = [p for positions in drawn.values() for p in positions]
    hull = _bbox_polygon(everything, source_name)
    venue_names = _names(building_name)
    out["venue"].append(Feature(venue_id, hull, {"name": venue_names, "category": "unspecified"}, source_name))
    out["building"].append(Feature(building_id, hull, {"name": venue_names, "category": "unspecified"}, source_name))
    for spec in levels:
        if not drawn.get(spec.ordinal):
            raise DrawingError(
                source_name, f"nothing mapped was drawn on level {spec.ordinal}: check the layer mapping"
            )
        level_props: dict[str, Any] = {
            "ordinal": spec.ordinal,
            "building_ids": [building_id],
            "outdoor": False,
            "name": _names(spec.name or f"Level {spec.ordinal}"),
            "short_name": _names(str(spec.ordinal)),
        }
        geometry = _bbox_polygon(drawn[spec.ordinal], source_name)
        out["level"].append(
            Feature(level_ids[spec.ordinal], geometry, level_props, f"{source_name} level {spec.ordinal}")
        )
    if not out.get("unit"):
        raise DrawingError(source_name, "no rooms: no closed shape on a layer mapped to 'units'")
    return ImdfDataset(source_name, content_sha256, "en", dict(out), dict(skipped))


def _nav_nodes(lines: Sequence[tuple[int, list[Position]]], level_ids: dict[int, str], out: dict[str, Any]) -> None:
    """Vertices (merged at ~1 cm) become nodes; consecutive vertices are neighbours."""
    nodes: dict[tuple[int, float, float], str] = {}
    neighbours: dict[str, set[str]] = defaultdict(set)
    positions: dict[str, tuple[int, Position]] = {}
    for level, line in lines:
        previous: str | None = None
        for position in line:
            key = (level, round(position[0], 7), round(position[1], 7))
            node = nodes.setdefault(key, _uid("nav", *key))
            positions.setdefault(node, (level, [key[1], key[2]]))
            if previous is not None and previous != node:
                neighbours[previous].add(node)
                neighbours[node].add(previous)
            previous = node
    for node, (level, point) in positions.items():
        props = {"level_id": level_ids[level], "neighbours": sorted(neighbours[node]), "weight": 1.0}
        out["nav_node"].append(Feature(node, {"type": "Point", "coordinates": point}, props, f"nav node {point}"))
