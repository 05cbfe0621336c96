"""Our trackers on detections derived from real TUD ground truth (seeded noise, drop-outs, clutter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spoton.detection import Detections
from spoton.evaluation import MOTSequence, combine, evaluate_sequence, read_mot
from spoton.tracking import BoTSORT, BoTSORTConfig, ByteTrack, ByteTrackConfig, Tracker


def noisy_detections(gt: MOTSequence, seed: int) -> list[tuple[int, Detections]]:
    """15 % of boxes dropped, 4 % jitter, ~0.3 false positives per frame, scores ~ N(0.75, 0.15)."""
    rng = np.random.default_rng(seed)
    out = []
    for frame, ids, tlwh in gt.frames():
        keep = rng.random(len(ids)) > 0.15
        b = tlwh[keep].copy()
        b[:, :2] += rng.normal(0, 0.04, (len(b), 2)) * b[:, 2:]
        b[:, 2:] *= np.exp(rng.normal(0, 0.04, (len(b), 2)))
        conf = np.clip(rng.normal(0.75, 0.15, len(b)), 0.05, 1)
        n = rng.poisson(0.3)
        clutter = np.c_[
            rng.uniform(0, 600, n), rng.uniform(0, 400, n), rng.uniform(40, 90, n), rng.uniform(100, 200, n)
        ]
        out.append((frame, Detections.from_xywh(np.r_[b, clutter], np.r_[conf, rng.uniform(0.1, 0.7, n)])))
    return out


def track(tracker: Tracker, dets: list[tuple[int, Detections]]) -> MOTSequence:
    rows = []
    for frame, d in dets:
        out = tracker.update(d)
        rows += [(frame, out.track_id[i], *out.xywh[i]) for i in range(len(out))]
    a = np.asarray(rows, dtype=float)
    return MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6])


@pytest.mark.parametrize(
    ("make", "floor"),
    [
        (lambda: ByteTrack(ByteTrackConfig(frame_rate=25)), {"HOTA": 0.68, "MOTA": 0.80, "IDF1": 0.85}),
        (
            lambda: BoTSORT(BoTSORTConfig(frame_rate=25, track_high_thresh=0.5, new_track_thresh=0.6)),
            {"HOTA": 0.68, "MOTA": 0.80, "IDF1": 0.85},
        ),
    ],
    ids=["bytetrack", "botsort"],
)
def test_tracker_scores_on_tud(mot_fixtures: Path, make: object, floor: dict[str, float]) -> None:
    scores = []
    for k, name in enumerate(("TUD-Campus", "TUD-Stadtmitte")):
        gt = read_mot(mot_fixtures / name / "gt.txt")
        scores.append(evaluate_sequence(gt, track(make(), noisy_detections(gt, seed=k))))  # type: ignore[operator]
    s = combine(scores).summary()
    print({key: round(s[key], 3) for key in ("HOTA", "MOTA", "IDF1", "IDSW")})
    for key, value in floor.items():
        assert s[key] >= value, (key, s[key])
