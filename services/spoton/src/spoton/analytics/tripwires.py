"""Tripwires: directed line segments on the floor plan, counted once per person and crossing.

Positions come per global person with cameras merged (see `merged_tracks`), so a person seen by
two overlapping cameras crosses once, not twice. Looking from `a` to `b`, a crossing from the left
side to the right side is `forward`, the other way `backward`. Points within `hysteresis_m` of the
line keep the previous side, so position jitter on the line does not count as crossings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from spoton.analytics.zones import Sample, merged_tracks
from spoton.errors import InvalidInputError

__all__ = ["Crossing", "Tripwire", "tripwire_counts", "tripwire_crossings"]


@dataclass(frozen=True)
class Tripwire:
    name: str
    a: tuple[float, float]
    b: tuple[float, float]

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Tripwire:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidInputError("tripwire name must be a non-empty string of at most 100 characters")
        try:
            a = (float(data["a"][0]), float(data["a"][1]))  # type: ignore[index]
            b = (float(data["b"][0]), float(data["b"][1]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError, IndexError):
            raise InvalidInputError(f"tripwire {name!r}: a and b must be [x, y] points in metres") from None
        if not np.isfinite([*a, *b]).all():
            raise InvalidInputError(f"tripwire {name!r}: coordinates must be finite")
        if np.hypot(b[0] - a[0], b[1] - a[1]) < 1e-6:
            raise InvalidInputError(f"tripwire {name!r}: a and b must be distinct points")
        return cls(name, a, b)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "a": list(self.a), "b": list(self.b)}

    def side(self, x: float, y: float, hysteresis_m: float) -> int:
        """+1 left of a->b, -1 right, 0 within `hysteresis_m` of the (infinite) line."""
        (ax, ay), (bx, by) = self.a, self.b
        length = float(np.hypot(bx - ax, by - ay))
        signed = ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) / length
        if abs(signed) <= hysteresis_m:
            return 0
        return 1 if signed > 0 else -1

    def hit(self, p: tuple[float, float], q: tuple[float, float]) -> float | None:
        """Where along p->q (0..1) the step meets the segment a-b, or None if it passes beside it."""
        (ax, ay), (bx, by) = self.a, self.b
        rx, ry = q[0] - p[0], q[1] - p[1]
        sx, sy = bx - ax, by - ay
        denom = rx * sy - ry * sx
        if abs(denom) < 1e-12:
            return None
        t = ((ax - p[0]) * sy - (ay - p[1]) * sx) / denom
        u = ((ax - p[0]) * ry - (ay - p[1]) * rx) / denom
        return t if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0 else None


@dataclass(frozen=True)
class Crossing:
    person: int
    tripwire: str
    direction: str  # forward | backward
    ts: float


def tripwire_crossings(
    samples: Iterable[Sample], tripwires: Sequence[Tripwire], *, max_gap_s: float = 2.0, hysteresis_m: float = 0.05
) -> list[Crossing]:
    """Every crossing, time-interpolated; a gap longer than `max_gap_s` forgets the previous side."""
    crossings: list[Crossing] = []
    for person, track in sorted(merged_tracks(samples).items()):
        for wire in tripwires:
            last: tuple[int, float, float, float] | None = None  # side, ts, x, y of the last off-line point
            for ts, x, y in track:
                if last is not None and ts - last[1] > max_gap_s:
                    last = None
                side = wire.side(x, y, hysteresis_m)
                if side == 0:
                    continue
                if last is not None and side != last[0]:
                    at = wire.hit((last[2], last[3]), (x, y))
                    if at is not None:
                        direction = "forward" if last[0] > 0 else "backward"
                        crossings.append(
                            Crossing(person, wire.name, direction, round(last[1] + at * (ts - last[1]), 3))
                        )
                last = (side, ts, x, y)
    crossings.sort(key=lambda c: (c.ts, c.person, c.tripwire))
    return crossings


def tripwire_counts(crossings: Iterable[Crossing], tripwires: Sequence[Tripwire]) -> dict[str, dict[str, int]]:
    counts = {w.name: {"forward": 0, "backward": 0, "total": 0, "persons": 0} for w in tripwires}
    persons: dict[str, set[int]] = {w.name: set() for w in tripwires}
    for c in crossings:
        counts[c.tripwire][c.direction] += 1
        counts[c.tripwire]["total"] += 1
        persons[c.tripwire].add(c.person)
    for name, who in persons.items():
        counts[name]["persons"] = len(who)
    return counts
