"""Multi-floor routing: pgRouting in PostGIS, a networkx oracle, and the turn-by-turn answer."""

from indoormaps.routing.engine import MAX_VIA, PgRouter, Reach, edges_sql
from indoormaps.routing.model import (
    Algorithm,
    Anchor,
    Candidate,
    Endpoint,
    LevelSegment,
    PathChoice,
    PointEndpoint,
    Profile,
    RoomEndpoint,
    Route,
    RouteStep,
    parse_endpoint,
)
from indoormaps.routing.oracle import OracleRouter
from indoormaps.routing.paths import PathTable, choose_path

__all__ = [
    "MAX_VIA",
    "Algorithm",
    "Anchor",
    "Candidate",
    "Endpoint",
    "LevelSegment",
    "OracleRouter",
    "PathChoice",
    "PathTable",
    "PgRouter",
    "PointEndpoint",
    "Profile",
    "Reach",
    "RoomEndpoint",
    "Route",
    "RouteStep",
    "choose_path",
    "edges_sql",
    "parse_endpoint",
]
