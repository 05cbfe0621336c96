from __future__ import annotations

import numpy as np
import pytest
from spoton.detection import Detections, non_max_suppression
from spoton.errors import InvalidDetectionsError, SpotOnError


def test_from_xywh_converts_to_xyxy_and_foot_points() -> None:
    d = Detections.from_xywh([[10, 20, 30, 60], [0, 0, 4, 8]], [0.9, 0.4])
    np.testing.assert_allclose(d.xyxy, [[10, 20, 40, 80], [0, 0, 4, 8]])
    np.testing.assert_allclose(d.xywh, [[10, 20, 30, 60], [0, 0, 4, 8]])
    np.testing.assert_allclose(d.bottom_centers, [[25, 80], [2, 8]])
    assert d.xyxy.dtype == np.float32
    assert d.class_id.tolist() == [0, 0]


@pytest.mark.parametrize(
    ("boxes", "conf", "message"),
    [
        (np.zeros((3, 5)), 1.0, "xyxy must have shape (N, 4); got (3, 5)"),
        ([[0, 0, 1, 1]], [0.5, 0.6], "confidence must have shape (1,) to match the boxes; got (2,)"),
        ([[5, 0, 1, 1]], 1.0, "box 0 must satisfy x2 >= x1 and y2 >= y1"),
        ([[0, 0, 1, 1]], 1.5, "confidence must lie in [0, 1]"),
        ([[0, 0, np.nan, 1]], 1.0, "xyxy must be finite"),
    ],
)
def test_validation_says_expected_and_actual(boxes: object, conf: object, message: str) -> None:
    with pytest.raises(InvalidDetectionsError) as info:
        Detections.from_xyxy(boxes, conf)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert isinstance(info.value, SpotOnError)


def test_arrays_are_read_only_and_indexing_returns_detections() -> None:
    d = Detections.from_xyxy([[0, 0, 1, 1], [1, 1, 3, 3]], [0.2, 0.8])
    with pytest.raises(ValueError, match="read-only"):
        d.xyxy[0, 0] = 5
    hi = d.with_min_confidence(0.5)
    assert len(hi) == 1
    np.testing.assert_allclose(hi.xyxy, [[1, 1, 3, 3]])
    assert len(Detections.empty()) == 0
    assert len(Detections.concatenate([d, hi])) == 3


def test_nms_keeps_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    keep = non_max_suppression(boxes, np.array([0.5, 0.9, 0.3]), 0.5)
    assert keep.tolist() == [1, 2]
