"""Detecting on every n-th frame: trackers coast on their Kalman prediction in between."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from spoton.detection import Detections, DetectorOptions
from spoton.geometry import Homography
from spoton.pipeline import FrameProcessor, ModelSuite
from spoton.scene import GroundTruthBox, SyntheticScene
from spoton.tracking import BoTSORT, BoTSORTConfig, ByteTrack, Tracker, iou_xyxy

TRACKERS = [
    pytest.param(lambda: ByteTrack(), id="bytetrack"),
    pytest.param(lambda: BoTSORT(BoTSORTConfig(track_high_thresh=0.5, new_track_thresh=0.6)), id="botsort"),
]


def walker(t: int) -> list[float]:
    cx, cy = 100 + 7 * t, 220 + 2 * t
    return [cx - 20, cy - 50, cx + 20, cy + 50]


@pytest.mark.parametrize("make", TRACKERS)
def test_predict_coasts_between_detections_and_keeps_the_id(make: object) -> None:
    tracker: Tracker = make()  # type: ignore[operator]
    ids, overlaps = set(), []
    for t in range(40):
        truth = np.array([walker(t)], np.float32)
        # Detections on frames 0-5 (to confirm the track and learn its velocity), then every 3rd frame.
        detect = t < 6 or t % 3 == 0
        out = tracker.update(Detections.from_xyxy(truth, 0.9)) if detect else tracker.predict()
        assert len(out) == 1  # the first frame confirms its tracks at once
        if len(out):
            ids.add(int(out.track_id[0]))
            overlaps.append(float(iou_xyxy(truth, out.xyxy)[0, 0]))
    assert len(ids) == 1
    assert min(overlaps) >= 0.8, overlaps


def test_predict_on_an_empty_tracker_returns_nothing() -> None:
    assert len(ByteTrack().predict()) == 0


class CountingGroundTruthDetector:
    """The scene's own boxes as detections; counts how often it is asked."""

    name = "ground_truth"

    def __init__(self) -> None:
        self.boxes: list[GroundTruthBox] = []
        self.calls = 0

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        self.calls += 1
        xyxy = np.array([b.xyxy for b in self.boxes], np.float32).reshape(-1, 4)
        return Detections.from_xyxy(xyxy, np.full(len(xyxy), 0.9, np.float32))


def test_the_processor_detects_on_every_second_frame_and_tracks_in_between(scene: SyntheticScene) -> None:
    cameras = ("cam_a1", "cam_b")
    suite = ModelSuite("hog", "bytetrack", "color_stripes", "weights", DetectorOptions(detect_every=2))
    processor = FrameProcessor(
        suite, cameras, scene.fps, {c: Homography(scene.camera(c).image_to_floor) for c in cameras}
    )
    detectors = {c: CountingGroundTruthDetector() for c in cameras}
    processor._detectors = detectors  # type: ignore[assignment]  # the seam: ground truth instead of HOG
    frames = 60
    matched = visible = 0
    for frame in range(1, frames + 1):
        for cam in cameras:
            image, truth = scene.render(cam, frame)
            detectors[cam].boxes = truth
            out = processor.process_camera(cam, image)
            if frame % 2 == 0 and frame > 6:  # a skipped frame, once tracks are established
                boxes = [b.xyxy for b in truth if b.visibility >= 0.8]
                visible += len(boxes)
                if boxes and len(out.xyxy):
                    matched += int((iou_xyxy(boxes, out.xyxy).max(axis=1) >= 0.5).sum())
    assert all(d.calls == frames // 2 for d in detectors.values())
    assert visible >= 40
    # Measured 0.92 over 120 frames x 4 cameras (0.96 on the detected frames, 0.99 detecting every frame).
    assert matched / visible >= 0.85, f"{matched}/{visible} people tracked on frames without detection"


def test_detect_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="detect_every"):
        DetectorOptions(detect_every=0)
