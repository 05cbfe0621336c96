"""Zones are polygons on the floor plan (metres); people are sampled positions over time.

Several cameras may see one person at the same moment (overlapping views): samples are merged per
(person, time) first, so a person is counted once however many cameras see them. A visit ends when
the person leaves the zone or is not seen for `max_gap_s` (the exit is then their last sighting).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.errors import InvalidInputError

__all__ = [
    "Sample",
    "Visit",
    "Zone",
    "ZoneEvent",
    "dwell_summary",
    "events_from_visits",
    "merged_tracks",
    "occupancy_series",
    "points_in_polygon",
    "zone_visits",
]


@dataclass(frozen=True)
class Zone:
    name: str
    polygon: tuple[tuple[float, float], ...]

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Zone:
        name = data.get("name")
        polygon = data.get("polygon")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidInputError("zone name must be a non-empty string of at most 100 characters")
        try:
            points = tuple((float(p[0]), float(p[1])) for p in polygon)  # type: ignore[attr-defined]
        except (TypeError, ValueError, IndexError):
            raise InvalidInputError(f"zone {name!r}: polygon must be a list of [x, y] pairs in metres") from None
        if len(points) < 3 or len(points) > 256:
            raise InvalidInputError(f"zone {name!r}: polygon needs 3 to 256 points; got {len(points)}")
        if not np.isfinite(np.asarray(points)).all():
            raise InvalidInputError(f"zone {name!r}: polygon coordinates must be finite")
        area = 0.5 * abs(
            sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
        )
        if area <= 1e-9:
            raise InvalidInputError(f"zone {name!r}: polygon has no area")
        return cls(name, points)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "polygon": [list(p) for p in self.polygon]}


@dataclass(frozen=True)
class Sample:
    person: int
    ts: float
    x: float
    y: float


@dataclass(frozen=True)
class ZoneEvent:
    person: int
    zone: str
    kind: str  # enter | exit
    ts: float


@dataclass(frozen=True)
class Visit:
    person: int
    zone: str
    enter_ts: float
    exit_ts: float | None  # None: still inside at the end of the data

    @property
    def duration_s(self) -> float | None:
        return None if self.exit_ts is None else self.exit_ts - self.enter_ts


def points_in_polygon(points: npt.ArrayLike, polygon: Sequence[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    """Even-odd rule, vectorised over points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64)
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return np.asarray((crosses & (x < x_at)).sum(axis=1) % 2 == 1)


def merged_tracks(samples: Iterable[Sample]) -> dict[int, list[tuple[float, float, float]]]:
    """Per person, time-sorted (ts, x, y); cameras seeing the person at one moment are averaged."""
    acc: dict[tuple[int, float], list[tuple[float, float]]] = defaultdict(list)
    for s in samples:
        acc[(s.person, s.ts)].append((s.x, s.y))
    per_person: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for (person, ts), xy in acc.items():
        a = np.asarray(xy)
        per_person[person].append((ts, float(a[:, 0].mean()), float(a[:, 1].mean())))
    for track in per_person.values():
        track.sort()
    return per_person


def zone_visits(samples: Iterable[Sample], zones: Sequence[Zone], *, max_gap_s: float = 2.0) -> list[Visit]:
    visits: list[Visit] = []
    for person, track in sorted(merged_tracks(samples).items()):
        arr = np.asarray(track)
        for zone in zones:
            inside = points_in_polygon(arr[:, 1:], zone.polygon)
            enter: float | None = None
            last_ts = None
            for (ts, _, _), now_in in zip(track, inside, strict=True):
                if enter is not None and last_ts is not None and ts - last_ts > max_gap_s:
                    visits.append(Visit(person, zone.name, enter, last_ts))
                    enter = None
                if now_in and enter is None:
                    enter = ts
                elif not now_in and enter is not None:
                    visits.append(Visit(person, zone.name, enter, ts))
                    enter = None
                last_ts = ts
            if enter is not None:
                visits.append(Visit(person, zone.name, enter, None))
    visits.sort(key=lambda v: (v.enter_ts, v.person, v.zone))
    return visits


def events_from_visits(visits: Iterable[Visit]) -> list[ZoneEvent]:
    events = []
    for v in visits:
        events.append(ZoneEvent(v.person, v.zone, "enter", v.enter_ts))
        if v.exit_ts is not None:
            events.append(ZoneEvent(v.person, v.zone, "exit", v.exit_ts))
    events.sort(key=lambda e: (e.ts, e.person, e.zone, e.kind))
    return events


def dwell_summary(visits: Iterable[Visit]) -> dict[str, dict[str, float | int | None]]:
    durations: dict[str, list[float]] = defaultdict(list)
    open_visits: dict[str, int] = defaultdict(int)
    for v in visits:
        if v.duration_s is None:
            open_visits[v.zone] += 1
        else:
            durations[v.zone].append(v.duration_s)
    out: dict[str, dict[str, float | int | None]] = {}
    for zone in sorted(set(durations) | set(open_visits)):
        d = np.asarray(durations.get(zone, []))
        out[zone] = {
            "visits": len(d),
            "open_visits": open_visits.get(zone, 0),
            "mean_s": round(float(d.mean()), 3) if len(d) else None,
            "median_s": round(float(np.median(d)), 3) if len(d) else None,
            "p90_s": round(float(np.percentile(d, 90)), 3) if len(d) else None,
            "max_s": round(float(d.max()), 3) if len(d) else None,
        }
    return out


def occupancy_series(
    samples: Iterable[Sample], zones: Sequence[Zone], *, bucket_s: float = 1.0
) -> dict[str, list[tuple[float, int]]]:
    """Per zone: (bucket start, the most people inside at any one moment of the bucket)."""
    if bucket_s <= 0:
        raise InvalidInputError("bucket_s must be > 0")
    merged = merged_tracks(samples)
    per_moment: dict[str, dict[float, int]] = {z.name: defaultdict(int) for z in zones}
    for track in merged.values():
        arr = np.asarray(track)
        for zone in zones:
            inside = points_in_polygon(arr[:, 1:], zone.polygon)
            for ts in arr[inside, 0]:
                per_moment[zone.name][float(ts)] += 1
    out: dict[str, list[tuple[float, int]]] = {}
    for name, counts in per_moment.items():
        buckets: dict[float, int] = defaultdict(int)
        for ts, n in counts.items():
            start = float(np.floor(ts / bucket_s) * bucket_s)
            buckets[start] = max(buckets[start], n)
        out[name] = sorted(buckets.items())
    return out
