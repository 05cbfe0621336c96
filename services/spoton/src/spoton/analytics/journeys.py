"""Per-person journeys across cameras and zones, and the zone-to-zone transition matrix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from spoton.analytics.zones import Visit

__all__ = ["CameraVisit", "Journey", "Sighting", "TransitionMatrix", "person_journeys", "zone_transitions"]


@dataclass(frozen=True)
class Sighting:
    person: int
    camera: str
    ts: float


@dataclass(frozen=True)
class CameraVisit:
    camera: str
    start_ts: float
    end_ts: float


@dataclass
class Journey:
    person: int
    cameras: list[CameraVisit] = field(default_factory=list)  # ordered by start
    zones: list[Visit] = field(default_factory=list)  # ordered by enter

    @property
    def camera_path(self) -> list[str]:
        """Cameras in order of first appearance of each visit, repeats of the same camera collapsed."""
        path: list[str] = []
        for visit in self.cameras:
            if not path or path[-1] != visit.camera:
                path.append(visit.camera)
        return path

    def to_dict(self) -> dict[str, object]:
        starts = [v.start_ts for v in self.cameras] + [v.enter_ts for v in self.zones]
        ends = [v.end_ts for v in self.cameras] + [v.exit_ts for v in self.zones if v.exit_ts is not None]
        return {
            "person": self.person,
            "first_seen_s": min(starts) if starts else None,
            "last_seen_s": max(ends) if ends else None,
            "camera_path": self.camera_path,
            "cameras": [{"camera": v.camera, "start_s": v.start_ts, "end_s": v.end_ts} for v in self.cameras],
            "zones": [{"zone": v.zone, "enter_s": v.enter_ts, "exit_s": v.exit_ts} for v in self.zones],
        }


def person_journeys(
    sightings: Iterable[Sighting], visits: Iterable[Visit] = (), *, max_gap_s: float = 2.0
) -> dict[int, Journey]:
    """Camera visits (a gap over `max_gap_s` in one camera starts a new visit) and zone visits per person."""
    per_camera: dict[tuple[int, str], list[float]] = defaultdict(list)
    for s in sightings:
        per_camera[(s.person, s.camera)].append(s.ts)
    journeys: dict[int, Journey] = {}
    for (person, camera), stamps in per_camera.items():
        ts = np.unique(np.asarray(stamps, dtype=np.float64))
        cuts = np.flatnonzero(np.diff(ts) > max_gap_s) + 1
        journey = journeys.setdefault(person, Journey(person))
        for run in np.split(ts, cuts):
            journey.cameras.append(CameraVisit(camera, float(run[0]), float(run[-1])))
    for v in visits:
        journeys.setdefault(v.person, Journey(v.person)).zones.append(v)
    for journey in journeys.values():
        journey.cameras.sort(key=lambda v: (v.start_ts, v.camera))
        journey.zones.sort(key=lambda v: (v.enter_ts, v.zone))
    return dict(sorted(journeys.items()))


@dataclass(frozen=True)
class TransitionMatrix:
    zones: list[str]
    counts: list[list[int]]  # counts[i][j]: visits of zones[i] followed next by a visit of zones[j]
    mean_transit_s: list[list[float | None]]  # exit of i to enter of j, averaged

    def to_dict(self) -> dict[str, object]:
        pairs = [
            {"from": a, "to": b, "count": self.counts[i][j], "mean_transit_s": self.mean_transit_s[i][j]}
            for i, a in enumerate(self.zones)
            for j, b in enumerate(self.zones)
            if self.counts[i][j]
        ]
        return {"zones": self.zones, "matrix": self.counts, "transitions": pairs}


def zone_transitions(visits: Iterable[Visit], zones: Sequence[str]) -> TransitionMatrix:
    """Per person, each finished zone visit followed by the next visit that starts after it ends.

    Overlapping visits (nested zones) are not transitions. Leaving a zone and coming back counts
    on the diagonal.
    """
    index = {name: i for i, name in enumerate(zones)}
    n = len(zones)
    counts = [[0] * n for _ in range(n)]
    transit: list[list[list[float]]] = [[[] for _ in range(n)] for _ in range(n)]
    per_person: dict[int, list[Visit]] = defaultdict(list)
    for v in visits:
        if v.zone in index:
            per_person[v.person].append(v)
    for person_visits in per_person.values():
        person_visits.sort(key=lambda v: (v.enter_ts, v.zone))
        for i, v in enumerate(person_visits):
            if v.exit_ts is None:
                continue
            following = [w for w in person_visits[i + 1 :] if w.enter_ts >= v.exit_ts]
            if not following:
                continue
            nxt = following[0]
            a, b = index[v.zone], index[nxt.zone]
            counts[a][b] += 1
            transit[a][b].append(nxt.enter_ts - v.exit_ts)
    means = [[round(float(np.mean(t)), 3) if t else None for t in row] for row in transit]
    return TransitionMatrix(list(zones), counts, means)
