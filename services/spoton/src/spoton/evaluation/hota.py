"""HOTA (Luiten et al., IJCV 2020): detection and association accuracy over 19 IoU thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from spoton.evaluation.matching_data import SequenceData

__all__ = ["HOTA_ALPHAS", "HotaCounts", "hota_counts"]

HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
_EPS = np.finfo(float).eps

Vec = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class HotaCounts:
    """Per-alpha sums; AssA and LocA are stored TP-weighted so sequences combine by addition."""

    tp: Vec
    fn: Vec
    fp: Vec
    assa_weighted: Vec  # sum over TP of the per-pair association score
    loca_sum: Vec

    def __add__(self, other: HotaCounts) -> HotaCounts:
        return HotaCounts(
            self.tp + other.tp,
            self.fn + other.fn,
            self.fp + other.fp,
            self.assa_weighted + other.assa_weighted,
            self.loca_sum + other.loca_sum,
        )

    @property
    def deta_alpha(self) -> Vec:
        return self.tp / np.maximum(1, self.tp + self.fn + self.fp)

    @property
    def assa_alpha(self) -> Vec:
        return self.assa_weighted / np.maximum(1, self.tp)

    @property
    def hota_alpha(self) -> Vec:
        return np.sqrt(self.deta_alpha * self.assa_alpha)

    @property
    def loca_alpha(self) -> Vec:
        return np.maximum(1e-10, self.loca_sum) / np.maximum(1e-10, self.tp)

    @property
    def hota(self) -> float:
        return float(self.hota_alpha.mean())

    @property
    def deta(self) -> float:
        return float(self.deta_alpha.mean())

    @property
    def assa(self) -> float:
        return float(self.assa_alpha.mean())

    @property
    def loca(self) -> float:
        return float(self.loca_alpha.mean())


def hota_counts(data: SequenceData) -> HotaCounts:
    n_alpha = len(HOTA_ALPHAS)
    tp, fn, fp, loca = (np.zeros(n_alpha) for _ in range(4))
    g, t = data.num_gt_ids, data.num_tracker_ids
    # Global alignment: how much each gt id and tracker id co-occur, with soft (IoU-share) matches.
    potential = np.zeros((g, t))
    gt_count = np.zeros((g, 1))
    tr_count = np.zeros((1, t))
    for gt_ids, tr_ids, sim in zip(data.gt_ids, data.tracker_ids, data.similarity, strict=True):
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        share = np.zeros_like(sim)
        np.divide(sim, denom, out=share, where=denom > _EPS)
        potential[gt_ids[:, None], tr_ids[None, :]] += share
        gt_count[gt_ids] += 1
        tr_count[0, tr_ids] += 1
    alignment = potential / np.maximum(_EPS, gt_count + tr_count - potential)
    matches = np.zeros((n_alpha, g, t))
    for gt_ids, tr_ids, sim in zip(data.gt_ids, data.tracker_ids, data.similarity, strict=True):
        if len(gt_ids) == 0 or len(tr_ids) == 0:
            fn += len(gt_ids)
            fp += len(tr_ids)
            continue
        score = alignment[gt_ids[:, None], tr_ids[None, :]] * sim
        rows, cols = linear_sum_assignment(-score)
        pair_sim = sim[rows, cols]
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = pair_sim >= alpha - _EPS
            n = int(ok.sum())
            tp[a] += n
            fn[a] += len(gt_ids) - n
            fp[a] += len(tr_ids) - n
            if n:
                loca[a] += pair_sim[ok].sum()
                matches[a, gt_ids[rows[ok]], tr_ids[cols[ok]]] += 1
    assa_w = np.zeros(n_alpha)
    for a in range(n_alpha):
        m = matches[a]
        ass = m / np.maximum(1, gt_count + tr_count - m)
        assa_w[a] = float((m * ass).sum())
    return HotaCounts(tp, fn, fp, assa_w, loca)
