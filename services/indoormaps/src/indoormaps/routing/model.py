"""Routing value types: profiles, endpoints, snapped anchors and the answer's parts."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from indoormaps.errors import InvalidParameter

__all__ = [
    "PROFILE_EDGE_FILTER",
    "Algorithm",
    "Anchor",
    "Candidate",
    "Endpoint",
    "LevelSegment",
    "PathChoice",
    "PointEndpoint",
    "Profile",
    "RoomEndpoint",
    "Route",
    "RouteStep",
    "parse_endpoint",
]


class Profile(StrEnum):
    DEFAULT = "default"
    STEP_FREE = "step_free"  # no stairs, no escalators
    WHEELCHAIR = "wheelchair"  # step-free, paved, no door marked inaccessible

    @classmethod
    def parse(cls, raw: str | None) -> Profile:
        try:
            return cls(raw or "default")
        except ValueError:
            raise InvalidParameter("profile", f"expected one of {[p.value for p in cls]}") from None


# SQL predicate on indoor_nav_edge per profile; the oracle reads the same boolean columns.
PROFILE_EDGE_FILTER: dict[Profile, str] = {
    Profile.DEFAULT: "true",
    Profile.STEP_FREE: "step_free",
    Profile.WHEELCHAIR: "wheelchair",
}


class Algorithm(StrEnum):
    DIJKSTRA = "dijkstra"
    ASTAR = "astar"


@dataclass(frozen=True)
class RoomEndpoint:
    room: uuid.UUID


@dataclass(frozen=True)
class PointEndpoint:
    lon: float
    lat: float
    level: int | None  # ordinal; None = outdoors


Endpoint = RoomEndpoint | PointEndpoint


def parse_endpoint(value: Any, param: str) -> Endpoint:
    """`{"room": "<uuid>"}` or `{"lon": .., "lat": .., "level": <ordinal or null>}`."""
    if not isinstance(value, Mapping):
        raise InvalidParameter(param, "expected an object with 'room' or 'lon'/'lat'/'level'")
    if "room" in value:
        try:
            return RoomEndpoint(uuid.UUID(str(value["room"])))
        except ValueError:
            raise InvalidParameter(param, "room must be a UUID") from None
    try:
        lon, lat = float(value["lon"]), float(value["lat"])
    except (KeyError, TypeError, ValueError):
        raise InvalidParameter(param, "a point needs numeric 'lon' and 'lat'") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameter(param, "lon/lat out of range")
    level = value.get("level")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool)):
        raise InvalidParameter(param, "level must be an integer ordinal or null (outdoors)")
    return PointEndpoint(lon, lat, level)


@dataclass(frozen=True)
class Candidate:
    """A graph node an endpoint can be reached through, with the cost/length of the last stretch."""

    node: int
    offset_cost: float
    offset_length: float
    coords: tuple[tuple[float, float], ...]  # from the endpoint to the node
    level_id: int | None
    level: int | None
    level_short_name: str | None


@dataclass(frozen=True)
class Anchor:
    endpoint: Endpoint
    label: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class PathChoice:
    """The chosen candidate pair and the node/edge path between them."""

    origin: Candidate
    destination: Candidate
    cost: float
    nodes: tuple[int, ...]
    edges: tuple[int, ...]


@dataclass
class LevelSegment:
    level: int | None
    level_short_name: str | None
    length_m: float
    coordinates: list[list[float]]

    def geojson(self) -> dict[str, Any]:
        return {"type": "LineString", "coordinates": self.coordinates}


@dataclass
class RouteStep:
    # depart, walk, turn-left, turn-right, stairs, elevator, escalator, ramp, enter, exit, via, arrive
    action: str
    instruction: str
    distance_m: float = 0.0
    level: int | None = None


@dataclass
class Route:
    profile: Profile
    algorithm: Algorithm
    version: int
    total_m: float
    duration_s: float
    segments: list[LevelSegment]
    steps: list[RouteStep]
    legs: list[PathChoice] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.value,
            "algorithm": self.algorithm.value,
            "data_version": self.version,
            "total_m": round(self.total_m, 1),
            "duration_s": round(self.duration_s, 1),
            "segments": [
                {
                    "level": s.level,
                    "level_short_name": s.level_short_name,
                    "length_m": round(s.length_m, 1),
                    "geometry": s.geojson(),
                }
                for s in self.segments
            ],
            "steps": [{**asdict(step), "distance_m": round(step.distance_m, 1)} for step in self.steps],
        }
