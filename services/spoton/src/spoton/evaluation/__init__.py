"""Tracking evaluation: MOT-challenge I/O and HOTA, CLEAR MOT and Identity metrics."""

from spoton.evaluation.clear import ClearCounts, clear_counts
from spoton.evaluation.evaluate import TrackingScores, combine, evaluate_sequence
from spoton.evaluation.hota import HOTA_ALPHAS, HotaCounts, hota_counts
from spoton.evaluation.identity import IdentityCounts, identity_counts
from spoton.evaluation.matching_data import SequenceData, iou_tlwh, prepare_sequence
from spoton.evaluation.mot_format import MOTSequence, parse_mot, read_mot, write_mot

__all__ = [
    "HOTA_ALPHAS",
    "ClearCounts",
    "HotaCounts",
    "IdentityCounts",
    "MOTSequence",
    "SequenceData",
    "TrackingScores",
    "clear_counts",
    "combine",
    "evaluate_sequence",
    "hota_counts",
    "identity_counts",
    "iou_tlwh",
    "parse_mot",
    "prepare_sequence",
    "read_mot",
    "write_mot",
]
