"""Validated request parameters for feature reads; every bad value raises InvalidParameter."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from indoormaps.errors import InvalidParameter

__all__ = ["BBox", "FeatureQuery", "QueryLimits", "parse_limit"]

_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a room or amenity name can contain (letters of any script, digits, spaces and the
# punctuation names use). Everything else (; = * < > { } | \ % ...) is refused with a 400: the
# search is parameterised anyway, but such text is never a name and usually an injection probe.
_SEARCH_TEXT = re.compile("^[\\w\\s.,:'\"\u2018\u2019\u201c\u201d\u00ab\u00bb()/#\u2116&+-]+$")
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True)
class QueryLimits:
    default_limit: int = 100
    max_limit: int = 1000
    max_bbox_side_m: float = 20_000.0
    max_q_length: int = 100
    min_level: int = -20
    max_level: int = 200


@dataclass(frozen=True)
class BBox:
    minx: float
    miny: float
    maxx: float
    maxy: float

    @classmethod
    def parse(cls, raw: str, limits: QueryLimits) -> BBox:
        parts = raw.split(",")
        if len(parts) != 4:
            raise InvalidParameter("bbox", "expected 4 comma-separated numbers: minLon,minLat,maxLon,maxLat")
        try:
            minx, miny, maxx, maxy = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidParameter("bbox", "every bbox value must be a number") from exc
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise InvalidParameter("bbox", "bbox values must be finite")
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
            raise InvalidParameter("bbox", "longitudes must lie in [-180, 180] and latitudes in [-90, 90]")
        if minx >= maxx or miny >= maxy:
            raise InvalidParameter("bbox", "min values must be smaller than max values")
        width = (maxx - minx) * _M_PER_DEG_LON_EQ * math.cos(math.radians((miny + maxy) / 2))
        height = (maxy - miny) * _M_PER_DEG_LAT
        if max(width, height) > limits.max_bbox_side_m:
            raise InvalidParameter(
                "bbox",
                f"bbox is {max(width, height):.0f} m across; the limit is {limits.max_bbox_side_m:.0f} m",
            )
        return cls(minx, miny, maxx, maxy)


@dataclass(frozen=True)
class FeatureQuery:
    q: str | None = None
    level: int | None = None
    bbox: BBox | None = None
    category: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], limits: QueryLimits | None = None) -> FeatureQuery:
        limits = limits or QueryLimits()
        q = params.get("q")
        if q is not None:
            q = q.strip()
            if not q:
                q = None
            elif len(q) > limits.max_q_length:
                raise InvalidParameter("q", f"at most {limits.max_q_length} characters")
            elif _CONTROL.search(q):
                raise InvalidParameter("q", "control characters are not allowed")
            elif not _SEARCH_TEXT.match(q):
                raise InvalidParameter(
                    "q", "only letters, digits, spaces and name punctuation ( . , : ' \" - ( ) / # & + ) are allowed"
                )
        level: int | None = None
        raw_level = params.get("level")
        if raw_level is not None and raw_level.strip() != "":
            try:
                level = int(raw_level.strip())
            except ValueError as exc:
                raise InvalidParameter("level", f"expected an integer ordinal, got {raw_level[:20]!r}") from exc
            if not limits.min_level <= level <= limits.max_level:
                raise InvalidParameter("level", f"must lie in [{limits.min_level}, {limits.max_level}]")
        raw_bbox = params.get("bbox")
        bbox = BBox.parse(raw_bbox, limits) if raw_bbox else None
        category = params.get("category")
        if category is not None:
            category = category.strip() or None
            if category is not None and not _CATEGORY.match(category):
                raise InvalidParameter("category", "expected a lowercase IMDF category such as 'restroom.female'")
        return cls(q=q, level=level, bbox=bbox, category=category)

    def fingerprint(self, layer: str) -> str:
        """Stable hash of layer + filters: a cursor is only valid for the query that issued it."""
        text = repr((layer, self.q, self.level, self.bbox, self.category))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_limit(raw: str | None, limits: QueryLimits | None = None) -> int:
    limits = limits or QueryLimits()
    if raw is None or raw.strip() == "":
        return limits.default_limit
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise InvalidParameter("limit", f"expected an integer, got {raw[:20]!r}") from exc
    if not 1 <= value <= limits.max_limit:
        raise InvalidParameter("limit", f"must lie in [1, {limits.max_limit}]")
    return value
