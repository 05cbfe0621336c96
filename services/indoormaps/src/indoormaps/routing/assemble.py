"""Turn chosen paths into the answer: metres, seconds, per-level geometry and turn-by-turn steps."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from indoormaps.routing.model import (
    Algorithm,
    Anchor,
    Candidate,
    LevelSegment,
    PathChoice,
    Profile,
    Route,
    RouteStep,
)

__all__ = ["assemble_route"]

_TURN_DEG = 45.0
_SHARP_DEG = 135.0
_MIN_TURN_LEG_M = 2.0  # ignore kinks of the network shorter than this


@dataclass
class _Piece:
    kind: str
    vertical: bool
    length: float
    seconds: float
    coords: list[tuple[float, float]]
    from_level: tuple[int | None, int | None, str | None]  # (level id, ordinal, short name)
    to_level: tuple[int | None, int | None, str | None]


def _offset_piece(candidate: Candidate, towards_node: bool) -> _Piece:
    coords = list(candidate.coords) if towards_node else list(reversed(candidate.coords))
    level = (candidate.level_id, candidate.level, candidate.level_short_name)
    return _Piece("walkway", False, candidate.offset_length, candidate.offset_cost, coords, level, level)


async def _edge_rows(conn: Any, edge_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    if not edge_ids:
        return {}
    cur = await conn.execute(
        """
        SELECT e.id, e.kind, e.is_vertical, e.length_m, e.time_s, e.source_id, e.target_id,
               ST_AsGeoJSON(e.geom, 7)::json -> 'coordinates',
               s.level_id, ls.ordinal, ls.short_name, t.level_id, lt.ordinal, lt.short_name
        FROM indoor_nav_edge e
        JOIN indoor_nav_node s ON s.id = e.source_id
        JOIN indoor_nav_node t ON t.id = e.target_id
        LEFT JOIN indoor_level ls ON ls.id = s.level_id
        LEFT JOIN indoor_level lt ON lt.id = t.level_id
        WHERE e.id = ANY(%s)
        """,
        (list(set(edge_ids)),),
    )
    return {row[0]: row for row in await cur.fetchall()}


def _pieces(leg: PathChoice, rows: dict[int, tuple[Any, ...]]) -> list[_Piece]:
    pieces = [_offset_piece(leg.origin, towards_node=True)]
    for (u, _v), edge in zip(zip(leg.nodes, leg.nodes[1:], strict=False), leg.edges, strict=True):
        _, kind, vertical, length, seconds, source, _target, coords, *levels = rows[edge]
        coords = [tuple(c) for c in (json.loads(coords) if isinstance(coords, str) else coords)]
        a, b = tuple(levels[:3]), tuple(levels[3:])
        if u != source:  # walked against the edge's stored direction
            coords.reverse()
            a, b = b, a
        pieces.append(_Piece(kind, vertical, length, seconds, coords, a, b))  # type: ignore[arg-type]
    pieces.append(_offset_piece(leg.destination, towards_node=False))
    return [p for p in pieces if p.coords]


def _bearing(coords: list[tuple[float, float]]) -> float | None:
    (x1, y1), (x2, y2) = coords[0], coords[-1]
    dx = (x2 - x1) * math.cos(math.radians((y1 + y2) / 2))
    dy = y2 - y1
    if math.hypot(dx, dy) < 1e-7:  # ~1 cm: no direction
        return None
    return math.degrees(math.atan2(dx, dy)) % 360


def _segments(pieces: list[_Piece]) -> list[LevelSegment]:
    segments: list[LevelSegment] = []
    current_level: object = object()
    for piece in pieces:
        if piece.vertical:
            current_level = object()  # a vertical move always starts a new segment
            continue
        level_id, ordinal, short = piece.from_level
        if level_id != current_level or not segments:
            segments.append(LevelSegment(ordinal, short, 0.0, [list(piece.coords[0])]))
            current_level = level_id
        segment = segments[-1]
        for point in piece.coords:
            if segment.coordinates[-1] != list(point):
                segment.coordinates.append(list(point))
        segment.length_m += piece.length
        if piece.to_level[0] != level_id:  # an entrance: the next piece belongs to the other side
            current_level = object()
    return [s for s in segments if len(s.coordinates) >= 2]


def _level_phrase(short: str | None) -> str:
    return f"level {short}" if short is not None else "outdoors"


class _StepWriter:
    def __init__(self) -> None:
        self.steps: list[RouteStep] = []
        self.walk_m = 0.0
        self.walk_level: int | None = None
        self.heading: float | None = None

    def flush(self) -> None:
        if self.walk_m >= 0.5:
            self.steps.append(RouteStep("walk", f"Walk {self.walk_m:.0f} m", round(self.walk_m, 1), self.walk_level))
        self.walk_m = 0.0

    def walk(self, piece: _Piece) -> None:
        bearing = _bearing(piece.coords)
        if bearing is not None and self.heading is not None and piece.length >= _MIN_TURN_LEG_M:
            delta = (bearing - self.heading + 180) % 360 - 180
            if abs(delta) >= _TURN_DEG and self.walk_m >= _MIN_TURN_LEG_M:
                self.flush()
                side = "right" if delta > 0 else "left"
                sharp = "sharp " if abs(delta) >= _SHARP_DEG else ""
                self.steps.append(RouteStep(f"turn-{side}", f"Turn {sharp}{side}", 0.0, piece.from_level[1]))
        if bearing is not None and piece.length >= _MIN_TURN_LEG_M:
            self.heading = bearing
        self.walk_m += piece.length
        self.walk_level = piece.from_level[1]

    def vertical(self, kind: str, start: _Piece, end: _Piece, metres: float) -> None:
        self.flush()
        self.heading = None
        to_short, to_ordinal = end.to_level[2], end.to_level[1]
        up = (to_ordinal or 0) > (start.from_level[1] or 0)
        where = _level_phrase(to_short)
        if kind == "elevator":
            text = f"Take the elevator to {where}"
        else:
            noun = {"stairs": "the stairs", "escalator": "the escalator", "ramp": "the ramp"}.get(kind, kind)
            text = f"Take {noun} {'up' if up else 'down'} to {where}"
        self.steps.append(RouteStep(kind, text, round(metres, 1), to_ordinal))

    def entrance(self, piece: _Piece) -> None:
        self.flush()
        if piece.to_level[0] is None:
            self.steps.append(RouteStep("exit", "Exit the building", round(piece.length, 1), None))
        else:
            where = _level_phrase(piece.to_level[2])
            self.steps.append(RouteStep("enter", f"Enter the building ({where})", round(piece.length, 1),
                                        piece.to_level[1]))  # fmt: skip


def _write_steps(anchors: Sequence[Anchor], legs_pieces: list[list[_Piece]]) -> list[RouteStep]:
    writer = _StepWriter()
    first = legs_pieces[0][0] if legs_pieces and legs_pieces[0] else None
    start_level = first.from_level if first else (None, None, None)
    writer.steps.append(
        RouteStep("depart", f"Start at {anchors[0].label} ({_level_phrase(start_level[2])})", 0.0, start_level[1])
    )
    for index, pieces in enumerate(legs_pieces):
        i = 0
        while i < len(pieces):
            piece = pieces[i]
            if piece.vertical:
                j, metres = i, 0.0
                while j < len(pieces) and pieces[j].vertical and pieces[j].kind == piece.kind:
                    metres += pieces[j].length
                    j += 1
                writer.vertical(piece.kind, piece, pieces[j - 1], metres)
                i = j
                continue
            if piece.from_level[0] != piece.to_level[0]:
                writer.entrance(piece)
            else:
                writer.walk(piece)
            i += 1
        writer.flush()
        if index < len(legs_pieces) - 1:
            writer.steps.append(RouteStep("via", f"Reach waypoint {index + 1}: {anchors[index + 1].label}"))
    writer.steps.append(RouteStep("arrive", f"Arrive at {anchors[-1].label}", 0.0, writer.walk_level))
    return writer.steps


async def assemble_route(
    conn: Any,
    *,
    version: int,
    profile: Profile,
    algorithm: Algorithm,
    anchors: Sequence[Anchor],
    legs: list[PathChoice],
) -> Route:
    rows = await _edge_rows(conn, [edge for leg in legs for edge in leg.edges])
    legs_pieces = [_pieces(leg, rows) for leg in legs]
    flat = [piece for pieces in legs_pieces for piece in pieces]
    return Route(
        profile=profile,
        algorithm=algorithm,
        version=version,
        total_m=sum(p.length for p in flat),
        duration_s=sum(p.seconds for p in flat),
        segments=_segments(flat),
        steps=_write_steps(anchors, legs_pieces),
        legs=legs,
    )
