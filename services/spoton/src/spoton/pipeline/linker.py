"""Global person ids across cameras, online, with a confidence per link.

A new local track joins an existing person when (1) another camera sees that person at the same
moment within `overlap_distance_m` on the floor (overlapping views), or (2) the person is not
currently seen anywhere, was seen less than `max_gap_s` ago, and the appearance (colour-stripe
embedding) distance is below `appearance_threshold` (non-overlapping views, or a track that broke
in one camera). Otherwise the track starts a new person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["GlobalLinker", "Link", "Observation", "PersonState"]

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
    ) -> None:
        self.overlap_distance_m = overlap_distance_m
        self.appearance_threshold = appearance_threshold
        self.max_gap_s = max_gap_s
        self.momentum = embedding_momentum
        self.persons: dict[int, PersonState] = {}
        self.assigned: dict[tuple[str, int], Link] = {}
        self._next = 1

    def update(self, t: float, observations: list[Observation]) -> list[Link]:
        """Links for `observations` (one moment, every camera), in the same order."""
        links: list[Link | None] = [None] * len(observations)
        fresh: list[int] = []
        for i, obs in enumerate(observations):
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
                d = float(1.0 - np.dot(person.embedding, obs.embedding))
                if d <= self.appearance_threshold and (best is None or d < best[0]):
                    best = (d, person.label)
            if best is not None:
                return Link(best[1], round(1.0 - 0.5 * best[0] / self.appearance_threshold, 3), "appearance")
        label = self._next
        self._next += 1
        return Link(label, 1.0, "new")
