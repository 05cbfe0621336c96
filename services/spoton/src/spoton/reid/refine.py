"""Batch refinement of global ids after a task, with all the evidence and the camera topology.

The online linker decides when a track starts, from what it has seen so far. Afterwards every local
track (a *tracklet*) is known whole: its time span, mean appearance and floor positions. Starting
from the online grouping, refinement

1. splits any person whose tracklets cannot be one person: two tracks at once in one camera, two
   places at once on the floor, or a walk between cameras faster than (or absent from) the topology;
2. merges persons agglomeratively, closest appearance first, while the merged person stays feasible,
   the two are adjacent in time (within `max_gap_s`) and their appearance distance is under
   `merge_threshold` (stricter than the online threshold: refinement should not make new mistakes);
3. gives every tracklet a confidence from its best supporting evidence within its person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spoton.reid.topology import CameraTopology

__all__ = ["RefinedLink", "Tracklet", "is_feasible", "refine_global_ids"]

Vector = npt.NDArray[np.float32]


@dataclass
class Tracklet:
    camera: str
    track_id: int
    first_s: float
    last_s: float
    embedding_sum: Vector | None = None
    embedding_count: int = 0
    floor: dict[float, tuple[float, float]] = field(default_factory=dict)  # ts -> (x, y) metres

    @property
    def key(self) -> tuple[str, int]:
        return (self.camera, self.track_id)

    def add_embedding(self, vector: Vector) -> None:
        v = vector.astype(np.float32)
        self.embedding_sum = v.copy() if self.embedding_sum is None else self.embedding_sum + v
        self.embedding_count += 1

    @property
    def embedding(self) -> Vector | None:
        if self.embedding_sum is None:
            return None
        norm = float(np.linalg.norm(self.embedding_sum))
        return None if norm <= 1e-12 else (self.embedding_sum / norm).astype(np.float32)


@dataclass(frozen=True)
class RefinedLink:
    label: int
    confidence: float
    reason: str  # new | overlap | appearance
    changed: bool  # the label differs from the online one


@dataclass(frozen=True)
class _Params:
    topology: CameraTopology | None
    overlap_distance_m: float
    conflict_distance_m: float
    max_gap_s: float


def _floor_distance(a: Tracklet, b: Tracklet) -> float | None:
    """Median floor distance over the moments both tracklets were seen, or None if there are none."""
    common = a.floor.keys() & b.floor.keys()
    if not common:
        return None
    d = [np.hypot(a.floor[t][0] - b.floor[t][0], a.floor[t][1] - b.floor[t][1]) for t in common]
    return float(np.median(d))


def _overlaps(a: Tracklet, b: Tracklet) -> bool:
    return a.first_s <= b.last_s and b.first_s <= a.last_s


def _pair_conflict(a: Tracklet, b: Tracklet, p: _Params) -> bool:
    """True when two tracklets seen at the same time cannot be one person."""
    if not _overlaps(a, b):
        return False
    if a.camera == b.camera:
        return True
    if p.topology is not None and not p.topology.plausible(a.camera, b.camera, 0.0):
        return True
    d = _floor_distance(a, b)
    return d is not None and d > p.conflict_distance_m


def is_feasible(members: list[Tracklet], p: _Params) -> bool:
    """No simultaneous conflicts, and every unseen stretch is a plausible walk between the cameras."""
    ordered = sorted(members, key=lambda t: (t.first_s, t.last_s))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.first_s > a.last_s:
                break
            if _pair_conflict(a, b, p):
                return False
    if p.topology is None:
        return True
    latest: Tracklet | None = None
    for t in ordered:
        unseen = latest is not None and t.first_s > latest.last_s
        if (
            unseen
            and latest is not None
            and not p.topology.plausible(latest.camera, t.camera, t.first_s - latest.last_s)
        ):
            return False
        if latest is None or t.last_s > latest.last_s:
            latest = t
    return True


def _mean_embedding(members: list[Tracklet]) -> Vector | None:
    sums = [t.embedding_sum for t in members if t.embedding_sum is not None]
    if not sums:
        return None
    total = np.sum(sums, axis=0)
    norm = float(np.linalg.norm(total))
    return None if norm <= 1e-12 else (total / norm).astype(np.float32)


def _appearance(a: Vector | None, b: Vector | None) -> float:
    return 1.0 if a is None or b is None else float(1.0 - np.dot(a, b))


def _adjacent(a: list[Tracklet], b: list[Tracklet], max_gap_s: float) -> bool:
    a0, a1 = min(t.first_s for t in a), max(t.last_s for t in a)
    b0, b1 = min(t.first_s for t in b), max(t.last_s for t in b)
    gap = max(b0 - a1, a0 - b1)
    return gap <= max_gap_s


def _split(members: list[Tracklet], p: _Params) -> list[list[Tracklet]]:
    """Greedy in time order: each tracklet joins the closest-looking feasible part, or starts one."""
    parts: list[list[Tracklet]] = []
    for t in sorted(members, key=lambda m: (m.first_s, m.camera, m.track_id)):
        best: tuple[float, int] | None = None
        for i, part in enumerate(parts):
            if not is_feasible([*part, t], p):
                continue
            d = _appearance(_mean_embedding(part), t.embedding)
            if best is None or d < best[0]:
                best = (d, i)
        if best is None:
            parts.append([t])
        else:
            parts[best[1]].append(t)
    return parts


def _confidence(t: Tracklet, others: list[Tracklet], p: _Params, appearance_threshold: float) -> tuple[float, str]:
    if not others:
        return 1.0, "new"
    floor = [d for o in others if _overlaps(t, o) and (d := _floor_distance(t, o)) is not None]
    if floor and min(floor) <= p.overlap_distance_m:
        return round(1.0 - 0.5 * min(floor) / p.overlap_distance_m, 3), "overlap"
    d = _appearance(t.embedding, _mean_embedding(others))
    return round(float(np.clip(1.0 - 0.5 * d / appearance_threshold, 0.0, 1.0)), 3), "appearance"


def refine_global_ids(
    tracklets: list[Tracklet],
    online: dict[tuple[str, int], int],
    *,
    topology: CameraTopology | None = None,
    overlap_distance_m: float = 1.0,
    conflict_distance_m: float = 2.5,
    max_gap_s: float = 60.0,
    appearance_threshold: float = 0.3,
    merge_threshold: float = 0.15,
) -> dict[tuple[str, int], RefinedLink]:
    """Refined label, confidence and reason for every tracklet (keys as in `online`)."""
    p = _Params(topology, overlap_distance_m, conflict_distance_m, max_gap_s)
    by_key = {t.key: t for t in tracklets if t.key in online}
    groups: dict[int, list[Tracklet]] = {}
    for key, label in online.items():
        if key in by_key:
            groups.setdefault(label, []).append(by_key[key])
    next_label = max(online.values(), default=0) + 1
    clusters: dict[int, list[Tracklet]] = {}
    for label, members in sorted(groups.items()):
        if is_feasible(members, p):
            clusters[label] = members
            continue
        parts = sorted(_split(members, p), key=len, reverse=True)
        clusters[label] = parts[0]  # the largest part keeps the online label
        for part in parts[1:]:
            clusters[next_label] = part
            next_label += 1
    while True:  # agglomerative merging, closest first, only while feasible
        labels = sorted(clusters)
        means = {label: _mean_embedding(clusters[label]) for label in labels}
        best: tuple[float, int, int] | None = None
        for i, la in enumerate(labels):
            for lb in labels[i + 1 :]:
                d = _appearance(means[la], means[lb])
                if d > merge_threshold or (best is not None and d >= best[0]):
                    continue
                a, b = clusters[la], clusters[lb]
                if _adjacent(a, b, max_gap_s) and is_feasible([*a, *b], p):
                    best = (d, la, lb)
        if best is None:
            break
        _, keep, gone = best
        clusters[keep] = clusters[keep] + clusters.pop(gone)
    out: dict[tuple[str, int], RefinedLink] = {}
    for label, members in clusters.items():
        for t in members:
            others = [o for o in members if o is not t]
            confidence, reason = _confidence(t, others, p, appearance_threshold)
            out[t.key] = RefinedLink(label, confidence, reason, label != online[t.key])
    return out
