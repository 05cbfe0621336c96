"""Routing over HTTP: POST /api/route/ (profiles, via, algorithm) and GET /api/reachable/."""

from __future__ import annotations

import json
import math
from typing import Any

from django.http import HttpRequest, HttpResponse

from indoormaps.api.http import UnsupportedMediaType, json_response, runtime_of, single_params, typed_errors
from indoormaps.errors import InvalidParameter
from indoormaps.routing import MAX_VIA, Algorithm, Profile, parse_endpoint
from indoormaps.routing.model import Endpoint

__all__ = ["MAX_ROUTE_BODY", "reachable", "route"]

MAX_ROUTE_BODY = 16 * 1024
_ROUTE_KEYS = {"from", "to", "via", "profile", "algorithm"}


def _algorithm(raw: Any) -> Algorithm:
    if raw is None:
        return Algorithm.DIJKSTRA
    try:
        return Algorithm(raw)
    except ValueError:
        raise InvalidParameter("algorithm", f"expected one of {[a.value for a in Algorithm]}") from None


def _profile(raw: Any) -> Profile:
    if raw is not None and not isinstance(raw, str):
        raise InvalidParameter("profile", f"expected one of {[p.value for p in Profile]}")
    return Profile.parse(raw)


def _body(request: HttpRequest) -> dict[str, Any]:
    content_type = (request.content_type or "").lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(f"send the route request as application/json, not {content_type or 'nothing'!r}")
    raw = request.body
    if len(raw) > MAX_ROUTE_BODY:
        raise InvalidParameter("body", f"at most {MAX_ROUTE_BODY} bytes")
    try:
        body = json.loads(raw, parse_constant=lambda c: math.nan)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameter("body", f"malformed JSON: {str(exc)[:80]}") from None
    if not isinstance(body, dict):
        raise InvalidParameter("body", "expected a JSON object")
    unknown = set(body) - _ROUTE_KEYS
    if unknown:
        raise InvalidParameter(sorted(unknown)[0][:40], f"unknown field; accepted: {sorted(_ROUTE_KEYS)}")
    return body


def _endpoint(body: dict[str, Any], key: str) -> Endpoint:
    if key not in body:
        raise InvalidParameter(key, "required: {'room': '<uuid>'} or {'lon': .., 'lat': .., 'level': ..}")
    return parse_endpoint(body[key], key)


@typed_errors("POST")
async def route(request: HttpRequest) -> HttpResponse:
    """{"from": endpoint, "to": endpoint, "via": [endpoint...], "profile": .., "algorithm": ..}."""
    runtime = runtime_of(request)
    body = _body(request)
    origin, destination = _endpoint(body, "from"), _endpoint(body, "to")
    via_raw = body.get("via", [])
    if not isinstance(via_raw, list):
        raise InvalidParameter("via", "expected a list of endpoints")
    if len(via_raw) > MAX_VIA:
        raise InvalidParameter("via", f"at most {MAX_VIA} waypoints")
    via = [parse_endpoint(v, f"via[{i}]") for i, v in enumerate(via_raw)]
    profile, algorithm = _profile(body.get("profile")), _algorithm(body.get("algorithm"))
    result = await runtime.pg_router().route(origin, destination, via=via, profile=profile, algorithm=algorithm)
    if runtime.metrics is not None:
        runtime.metrics.route_seconds.labels(profile.value, algorithm.value).observe(result.elapsed_ms / 1000)
    return json_response({**result.to_dict(), "elapsed_ms": round(result.elapsed_ms, 2)})


def _float(params: dict[str, str], key: str) -> float:
    try:
        value = float(params[key])
    except (KeyError, ValueError):
        raise InvalidParameter(key, "expected a number") from None
    if not math.isfinite(value):
        raise InvalidParameter(key, "must be finite")
    return value


@typed_errors("GET")
async def reachable(request: HttpRequest) -> HttpResponse:
    """Rooms reachable within max_seconds from a room (`room`) or a point (`lon`, `lat`, `level`)."""
    runtime = runtime_of(request)
    params = single_params(request, ("room", "lon", "lat", "level", "max_seconds", "profile"))
    origin_raw: dict[str, Any]
    if "room" in params:
        origin_raw = {"room": params["room"]}
    elif "lon" in params or "lat" in params:
        level: int | None = None
        if params.get("level", "").strip():
            try:
                level = int(params["level"])
            except ValueError:
                raise InvalidParameter("level", "expected an integer ordinal") from None
        origin_raw = {"lon": _float(params, "lon"), "lat": _float(params, "lat"), "level": level}
    else:
        raise InvalidParameter("room", "give a room UUID or lon/lat/level")
    origin = parse_endpoint(origin_raw, "origin")
    max_seconds = _float(params, "max_seconds") if "max_seconds" in params else 120.0
    profile = _profile(params.get("profile"))
    reach = await runtime.pg_router().reachable_rooms(origin, max_seconds=max_seconds, profile=profile)
    return json_response(
        {
            "profile": profile.value,
            "max_seconds": max_seconds,
            "rooms": [
                {"room": r.room, "name": r.name, "level": r.level, "seconds": round(r.seconds, 1)} for r in reach
            ],
        }
    )
