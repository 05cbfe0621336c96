"""CLEAR MOT metrics (MOTA, MOTP, IDSW, MT/PT/ML, Frag), computed the way TrackEval does."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from spoton.evaluation.matching_data import SequenceData

__all__ = ["ClearCounts", "clear_counts"]

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class ClearCounts:
    """Integer counts; ratios are properties so sequences combine by adding counts."""

    tp: int
    fn: int
    fp: int
    idsw: int
    mt: int
    pt: int
    ml: int
    frag: int
    num_gt_ids: int
    motp_sum: float

    def __add__(self, other: ClearCounts) -> ClearCounts:
        return ClearCounts(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)  # type: ignore[arg-type]
        )

    @property
    def mota(self) -> float:
        return (self.tp - self.fp - self.idsw) / max(1, self.tp + self.fn)

    @property
    def motp(self) -> float:
        """Mean IoU of matched pairs (motmetrics reports 1 - this as a distance)."""
        return self.motp_sum / max(1, self.tp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)


def clear_counts(data: SequenceData, threshold: float = 0.5) -> ClearCounts:
    """Per frame, Hungarian matching at IoU >= threshold that prefers continuing last frame's pairs."""
    n_gt = data.num_gt_ids
    gt_id_count = np.zeros(n_gt)
    gt_matched_count = np.zeros(n_gt)
    gt_frag_count = np.zeros(n_gt)
    prev_tracker = np.full(n_gt, np.nan)  # last tracker id ever matched to each gt id
    prev_step_tracker = np.full(n_gt, np.nan)  # tracker id matched in the previous timestep
    tp = fn = fp = idsw = 0
    motp_sum = 0.0
    for gt_ids, tr_ids, sim in zip(data.gt_ids, data.tracker_ids, data.similarity, strict=True):
        if len(gt_ids) == 0:
            fp += len(tr_ids)
            continue
        if len(tr_ids) == 0:
            # As TrackEval: an empty tracker frame neither ends the previous-step pairs nor fragments.
            fn += len(gt_ids)
            gt_id_count[gt_ids] += 1
            continue
        continuing = tr_ids[None, :] == prev_step_tracker[gt_ids][:, None]
        score = 1000.0 * continuing + sim
        score[sim < threshold - _EPS] = 0.0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > _EPS
        rows, cols = rows[ok], cols[ok]
        m_gt, m_tr = gt_ids[rows], tr_ids[cols]
        before = prev_tracker[m_gt]
        idsw += int(np.sum(~np.isnan(before) & (m_tr != before)))
        gt_id_count[gt_ids] += 1
        gt_matched_count[m_gt] += 1
        not_tracked_before = np.isnan(prev_step_tracker)
        prev_tracker[m_gt] = m_tr
        prev_step_tracker[:] = np.nan
        prev_step_tracker[m_gt] = m_tr
        gt_frag_count += not_tracked_before & ~np.isnan(prev_step_tracker)
        tp += len(rows)
        fn += len(gt_ids) - len(rows)
        fp += len(tr_ids) - len(rows)
        motp_sum += float(sim[rows, cols].sum())
    present = gt_id_count > 0
    ratio = gt_matched_count[present] / gt_id_count[present]
    mt = int(np.sum(ratio > 0.8))
    ml = int(np.sum(ratio < 0.2))
    pt = int(present.sum()) - mt - ml
    frag = int(np.sum(gt_frag_count[gt_frag_count > 0] - 1))
    return ClearCounts(tp, fn, fp, idsw, mt, pt, ml, frag, int(present.sum()), motp_sum)
