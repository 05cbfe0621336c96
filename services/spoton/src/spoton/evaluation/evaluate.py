"""One call to score a tracker against ground truth: HOTA, CLEAR and Identity together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import add
from typing import Any

from spoton.evaluation.clear import ClearCounts, clear_counts
from spoton.evaluation.hota import HotaCounts, hota_counts
from spoton.evaluation.identity import IdentityCounts, identity_counts
from spoton.evaluation.matching_data import prepare_sequence
from spoton.evaluation.mot_format import MOTSequence

__all__ = ["TrackingScores", "combine", "evaluate_sequence"]


@dataclass(frozen=True)
class TrackingScores:
    clear: ClearCounts
    identity: IdentityCounts
    hota: HotaCounts

    def __add__(self, other: TrackingScores) -> TrackingScores:
        return TrackingScores(self.clear + other.clear, self.identity + other.identity, self.hota + other.hota)

    def summary(self) -> dict[str, Any]:
        """Flat dict of headline figures (ratios in [0, 1], counts as ints) for JSON responses."""
        c, i, h = self.clear, self.identity, self.hota
        return {
            "HOTA": h.hota,
            "DetA": h.deta,
            "AssA": h.assa,
            "LocA": h.loca,
            "MOTA": c.mota,
            "MOTP": c.motp,
            "IDF1": i.idf1,
            "IDP": i.idp,
            "IDR": i.idr,
            "recall": c.recall,
            "precision": c.precision,
            "TP": c.tp,
            "FP": c.fp,
            "FN": c.fn,
            "IDSW": c.idsw,
            "Frag": c.frag,
            "MT": c.mt,
            "PT": c.pt,
            "ML": c.ml,
            "GT_IDs": c.num_gt_ids,
            "IDTP": i.idtp,
            "IDFP": i.idfp,
            "IDFN": i.idfn,
        }


def evaluate_sequence(gt: MOTSequence, tracker: MOTSequence, *, iou_threshold: float = 0.5) -> TrackingScores:
    """Score one sequence; CLEAR and Identity match at `iou_threshold`, HOTA over all alphas."""
    data = prepare_sequence(gt, tracker)
    return TrackingScores(clear_counts(data, iou_threshold), identity_counts(data, iou_threshold), hota_counts(data))


def combine(scores: Iterable[TrackingScores]) -> TrackingScores:
    """Combine sequences as TrackEval's COMBINED_SEQ: counts add, association is TP-weighted."""
    return reduce(add, scores)
