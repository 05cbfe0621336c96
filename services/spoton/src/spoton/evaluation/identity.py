"""Identity metrics (IDF1, IDP, IDR): one global gt-id to tracker-id assignment per sequence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from spoton.evaluation.matching_data import SequenceData

__all__ = ["IdentityCounts", "identity_counts"]

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class IdentityCounts:
    idtp: int
    idfn: int
    idfp: int

    def __add__(self, other: IdentityCounts) -> IdentityCounts:
        return IdentityCounts(self.idtp + other.idtp, self.idfn + other.idfn, self.idfp + other.idfp)

    @property
    def idf1(self) -> float:
        return self.idtp / max(1.0, self.idtp + 0.5 * self.idfp + 0.5 * self.idfn)

    @property
    def idp(self) -> float:
        return self.idtp / max(1, self.idtp + self.idfp)

    @property
    def idr(self) -> float:
        return self.idtp / max(1, self.idtp + self.idfn)


def identity_counts(data: SequenceData, threshold: float = 0.5) -> IdentityCounts:
    """IDTP is the heaviest bipartite matching of ids, weighted by frames overlapping at IoU >= threshold.

    Leaving a gt id or tracker id unmatched costs its whole length, so this equals TrackEval's
    square (G+T) formulation with dummy nodes.
    """
    overlap = np.zeros((data.num_gt_ids, data.num_tracker_ids))
    for gt_ids, tr_ids, sim in zip(data.gt_ids, data.tracker_ids, data.similarity, strict=True):
        r, c = np.nonzero(sim >= threshold - _EPS)
        np.add.at(overlap, (gt_ids[r], tr_ids[c]), 1)
    idtp = 0
    if overlap.size:
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        idtp = int(overlap[rows, cols].sum())
    return IdentityCounts(idtp, data.num_gt_dets - idtp, data.num_tracker_dets - idtp)
