"""Global person ids across cameras, online, with a confidence per link.

A new local track joins an existing person when (1) another camera sees that person at the same
moment within `overlap_distance_m` on the floor (overlapping views), or (2) the person is not
currently seen anywhere, was seen less than `max_gap_s` ago, and the appearance (colour-stripe
embedding) distance is below `appearance_threshold` (non-overlapping views, or a track that broke
in one camera). Otherwise the track starts a new person.

With a camera topology, both kinds of link must also be a plausible walk: from the camera of the
person's latest sighting to the new camera within the pair's transit window (overlapping views:
no walk needed). Each local track's evidence (time span, mean embedding, floor positions) is kept
for the batch refinement after the task (`spoton.reid.refine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spoton.reid.refine import Tracklet, refine_global_ids
from spoton.reid.topology import CameraTopology

__all__ = ["GlobalLinker", "Link", "Observation", "PersonState"]

MAX_FLOOR_POINTS_PER_TRACK = 20_000  # evidence kept for refinement; a very long track keeps its start

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Observation:
    camera: str
    track_id: int
    floor_xy: tuple[float, float] | None
    embedding: Vector | None


@dataclass(frozen=True)
class Link:
    label: int
    confidence: float
    reason: str  # new | overlap | appearance | continued


@dataclass
class PersonState:
    label: int
    first_seen_s: float
    last_seen_s: float
    embedding: Vector | None
    cameras: set[str] = field(default_factory=set)
    last_xy: dict[str, tuple[float, float]] = field(default_factory=dict)  # per camera, at last_seen_s
    last_seen_by: dict[str, float] = field(default_factory=dict)


class GlobalLinker:
    def __init__(
        self,
        *,
        overlap_distance_m: float = 1.0,
        appearance_threshold: float = 0.3,
        max_gap_s: float = 60.0,
        embedding_momentum: float = 0.9,
        topology: CameraTopology | None = None,
    ) -> None:
        self.overlap_distance_m = overlap_distance_m
        self.appearance_threshold = appearance_threshold
        self.max_gap_s = max_gap_s
        self.momentum = embedding_momentum
        self.persons: dict[int, PersonState] = {}
        self.assigned: dict[tuple[str, int], Link] = {}
        self.topology = topology
        self.evidence: dict[tuple[str, int], Tracklet] = {}
        self._next = 1

    def _transit_ok(self, person: PersonState, camera: str, t: float) -> bool:
        """Could `person` be in `camera` at `t`, given where the topology says they were last seen?"""
        if self.topology is None:
            return True
        latest = max(person.last_seen_by.values(), default=person.last_seen_s)
        last_cameras = [c for c, seen in person.last_seen_by.items() if seen == latest]
        return any(self.topology.plausible(c, camera, t - latest) for c in last_cameras)

    def _record(self, t: float, obs: Observation) -> None:
        tracklet = self.evidence.get((obs.camera, obs.track_id))
        if tracklet is None:
            tracklet = self.evidence[(obs.camera, obs.track_id)] = Tracklet(obs.camera, obs.track_id, t, t)
        tracklet.last_s = max(tracklet.last_s, t)
        if obs.embedding is not None and np.any(obs.embedding):
            tracklet.add_embedding(obs.embedding)
        if obs.floor_xy is not None and len(tracklet.floor) < MAX_FLOOR_POINTS_PER_TRACK:
            tracklet.floor[t] = obs.floor_xy

    def update(self, t: float, observations: list[Observation]) -> list[Link]:
        """Links for `observations` (one moment, every camera), in the same order."""
        links: list[Link | None] = [None] * len(observations)
        fresh: list[int] = []
        for i, obs in enumerate(observations):
            self._record(t, obs)
            link = self.assigned.get((obs.camera, obs.track_id))
            if link is None:
                fresh.append(i)
                continue
            links[i] = Link(link.label, link.confidence, "continued")
            self._observe(self.persons[link.label], t, obs)
        for i in fresh:
            obs = observations[i]
            link = self._link_new(t, obs)
            self.assigned[(obs.camera, obs.track_id)] = link
            links[i] = link
            if link.label not in self.persons:
                self.persons[link.label] = PersonState(link.label, t, t, None)
            self._observe(self.persons[link.label], t, obs)
        return [link for link in links if link is not None]

    def _observe(self, person: PersonState, t: float, obs: Observation) -> None:
        person.last_seen_s = max(person.last_seen_s, t)
        person.cameras.add(obs.camera)
        person.last_seen_by[obs.camera] = t
        if obs.floor_xy is not None:
            person.last_xy[obs.camera] = obs.floor_xy
        if obs.embedding is not None and np.any(obs.embedding):
            if person.embedding is None:
                person.embedding = obs.embedding.astype(np.float32)
            else:
                mixed = self.momentum * person.embedding + (1 - self.momentum) * obs.embedding
                person.embedding = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)

    def _link_new(self, t: float, obs: Observation) -> Link:
        # (1) same moment, another camera, close on the floor.
        if obs.floor_xy is not None:
            best: tuple[float, int] | None = None
            for person in self.persons.values():
                if person.last_seen_by.get(obs.camera) == t:
                    continue  # already has a track in this camera now
                for cam, xy in person.last_xy.items():
                    if cam == obs.camera or person.last_seen_by.get(cam) != t:
                        continue
                    if self.topology is not None and not self.topology.plausible(cam, obs.camera, 0.0):
                        continue  # seen at this moment by a camera that cannot share the view
                    d = float(np.hypot(xy[0] - obs.floor_xy[0], xy[1] - obs.floor_xy[1]))
                    if d <= self.overlap_distance_m and (best is None or d < best[0]):
                        best = (d, person.label)
            if best is not None:
                return Link(best[1], round(1.0 - 0.5 * best[0] / self.overlap_distance_m, 3), "overlap")
        # (2) nobody sees the person now; appearance decides.
        if obs.embedding is not None and np.any(obs.embedding):
            best = None
            for person in self.persons.values():
                if person.embedding is None or t - person.last_seen_s > self.max_gap_s:
                    continue
                if person.last_seen_s >= t and person.last_seen_by.get(obs.camera) != t:
                    continue  # seen right now elsewhere but too far away: someone else
                if person.last_seen_by.get(obs.camera) == t:
                    continue
                if not self._transit_ok(person, obs.camera, t):
                    continue  # too fast (or no direct way) from where they were last seen
                d = float(1.0 - np.dot(person.embedding, obs.embedding))
                if d <= self.appearance_threshold and (best is None or d < best[0]):
                    best = (d, person.label)
            if best is not None:
                return Link(best[1], round(1.0 - 0.5 * best[0] / self.appearance_threshold, 3), "appearance")
        label = self._next
        self._next += 1
        return Link(label, 1.0, "new")

    def refine(self) -> dict[tuple[str, int], int]:
        """Batch-refine every link with all the evidence; return {tracklet: old label} of those that moved.

        Afterwards `assigned` holds the refined links (with their confidences) and `persons` one
        state per refined person.
        """
        online = {key: link.label for key, link in self.assigned.items()}
        refined = refine_global_ids(
            list(self.evidence.values()), online, topology=self.topology,
            overlap_distance_m=self.overlap_distance_m, max_gap_s=self.max_gap_s,
            appearance_threshold=self.appearance_threshold,
        )  # fmt: skip
        moved = {key: online[key] for key, r in refined.items() if r.changed}
        members: dict[int, list[Tracklet]] = {}
        for key, r in refined.items():
            self.assigned[key] = Link(r.label, r.confidence, r.reason)
            members.setdefault(r.label, []).append(self.evidence[key])
        persons: dict[int, PersonState] = {}
        for label, tracklets in members.items():
            state = PersonState(
                label, min(t.first_s for t in tracklets), max(t.last_s for t in tracklets), None,
                {t.camera for t in tracklets},
            )  # fmt: skip
            sums = [t.embedding_sum for t in tracklets if t.embedding_sum is not None]
            if sums:
                total = np.sum(sums, axis=0)
                state.embedding = (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)
            persons[label] = state
        self.persons = persons
        self._next = max([self._next, *(label + 1 for label in persons)])
        return moved
