"""Cost matrices and thresholded linear assignment for data association."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["cosine_distance", "fuse_score", "iou_xyxy", "linear_assignment"]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


def iou_xyxy(a: npt.ArrayLike, b: npt.ArrayLike) -> Array:
    """IoU of every box in `a` (N, 4) with every box in `b` (M, 4), xyxy."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def cosine_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> Array:
    """1 - cosine similarity between rows; rows need not be normalised. In [0, 2]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return np.zeros((len(a), len(b)))
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.clip(1.0 - an @ bn.T, 0.0, 2.0)


def fuse_score(iou_cost: Array, scores: npt.ArrayLike) -> Array:
    """Make confident detections cheaper: 1 - IoU * score (ByteTrack's MOT17 setting)."""
    if iou_cost.size == 0:
        return iou_cost
    return 1.0 - (1.0 - iou_cost) * np.asarray(scores, dtype=np.float64)[None, :]


def linear_assignment(cost: Array, threshold: float) -> tuple[npt.NDArray[np.intp], Index, Index]:
    """Minimum-cost matching keeping only pairs with cost <= threshold.

    Returns (matches (K, 2) of row/col indices, unmatched rows, unmatched cols).
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return np.zeros((0, 2), np.intp), np.arange(n), np.arange(m)
    # Pairs above the threshold are forbidden outright, not merely expensive.
    big = threshold + 1e4
    masked = np.where(cost <= threshold, cost, big)
    rows, cols = linear_sum_assignment(masked)
    ok = masked[rows, cols] <= threshold
    matches = np.stack([rows[ok], cols[ok]], axis=1).astype(np.intp)
    return (
        matches,
        np.setdiff1d(np.arange(n), matches[:, 0]),
        np.setdiff1d(np.arange(m), matches[:, 1]),
    )
