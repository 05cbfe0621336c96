"""Align ground truth and tracker output frame by frame: contiguous ids and IoU matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.evaluation.mot_format import MOTSequence

__all__ = ["SequenceData", "iou_tlwh", "prepare_sequence"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def iou_tlwh(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU between every box in `a` (N, 4) and `b` (M, 4), both top-left x, y, width, height."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a1, a2 = a[:, None, :2], a[:, None, :2] + a[:, None, 2:]
    b1, b2 = b[None, :, :2], b[None, :, :2] + b[None, :, 2:]
    wh = np.clip(np.minimum(a2, b2) - np.maximum(a1, b1), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > np.finfo(float).eps)
    return out


@dataclass(frozen=True)
class SequenceData:
    """Per-timestep ids (0-based, contiguous) and gt x tracker similarity matrices."""

    gt_ids: list[IntArray]
    tracker_ids: list[IntArray]
    similarity: list[FloatArray]
    num_gt_ids: int
    num_tracker_ids: int

    @property
    def num_gt_dets(self) -> int:
        return sum(len(g) for g in self.gt_ids)

    @property
    def num_tracker_dets(self) -> int:
        return sum(len(t) for t in self.tracker_ids)


def prepare_sequence(gt: MOTSequence, tracker: MOTSequence) -> SequenceData:
    """Timesteps are the union of frames present in either file."""
    gt_unique, gt_dense = np.unique(gt.track_id, return_inverse=True)
    tr_unique, tr_dense = np.unique(tracker.track_id, return_inverse=True)
    frames = np.union1d(gt.frame, tracker.frame)
    gt_start = np.searchsorted(gt.frame, frames, "left")
    gt_end = np.searchsorted(gt.frame, frames, "right")
    tr_start = np.searchsorted(tracker.frame, frames, "left")
    tr_end = np.searchsorted(tracker.frame, frames, "right")
    gt_ids, tr_ids, sims = [], [], []
    for gs, ge, ts, te in zip(gt_start, gt_end, tr_start, tr_end, strict=True):
        gt_ids.append(gt_dense[gs:ge].astype(np.int64))
        tr_ids.append(tr_dense[ts:te].astype(np.int64))
        sims.append(iou_tlwh(gt.tlwh[gs:ge], tracker.tlwh[ts:te]))
    return SequenceData(gt_ids, tr_ids, sims, len(gt_unique), len(tr_unique))
