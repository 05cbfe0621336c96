"""End to end on the synthetic scene: rendered frames -> HOG -> tracker -> MOT metrics per camera."""

from __future__ import annotations

import numpy as np
import pytest
from spoton.detection import HOGPeopleDetector
from spoton.evaluation import MOTSequence, combine, evaluate_sequence
from spoton.scene import SyntheticScene
from spoton.tracking import BoTSORT, BoTSORTConfig, ByteTrack, ByteTrackConfig, Tracker

CAMERAS = ("cam_a1", "cam_b", "cam_c")
FRAMES = 80


@pytest.fixture(scope="module")
def detections(scene: SyntheticScene) -> dict[str, list[tuple[np.ndarray, object]]]:
    det = HOGPeopleDetector()
    out = {}
    for cam in CAMERAS:
        out[cam] = []
        for f in range(1, FRAMES + 1):
            image, _ = scene.render(cam, f)
            out[cam].append((image, det.detect(image)))
    return out


def run(tracker: Tracker, frames: list[tuple[np.ndarray, object]]) -> MOTSequence:
    rows = []
    for f, (image, dets) in enumerate(frames, start=1):
        out = tracker.update(dets, image)  # type: ignore[arg-type]
        rows += [(f, out.track_id[i], *out.xywh[i]) for i in range(len(out))]
    a = np.asarray(rows, dtype=float).reshape(-1, 6)
    return MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6])


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [
        lambda: ByteTrack(ByteTrackConfig(frame_rate=10, track_high_thresh=0.6, new_track_thresh=0.7)),
        lambda: BoTSORT(BoTSORTConfig(frame_rate=10, appearance_thresh=0.15)),
    ],
    ids=["bytetrack", "botsort"],
)
def test_hog_plus_tracker_on_synthetic_cameras(
    scene: SyntheticScene, detections: dict[str, list[tuple[np.ndarray, object]]], make: object
) -> None:
    scores = []
    for cam in CAMERAS:
        gt = scene.ground_truth(cam)
        gt = gt.select((gt.frame <= FRAMES) & (gt.tlwh[:, 3] >= 100))  # what HOG can see
        hyp = run(make(), detections[cam])  # type: ignore[operator]
        scores.append(evaluate_sequence(gt, hyp))
    s = combine(scores).summary()
    print({k: round(s[k], 3) for k in ("HOTA", "MOTA", "IDF1", "IDSW", "FP", "FN")})
    assert s["MOTA"] >= 0.75
    assert s["IDF1"] >= 0.8
    assert s["HOTA"] >= 0.6
