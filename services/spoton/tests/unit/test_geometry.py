from __future__ import annotations

import numpy as np
import pytest
from spoton.errors import DegenerateHomographyError, HomographyError, ReprojectionError
from spoton.geometry import Homography, estimate_homography
from spoton.scene import demo_cameras

CAM = demo_cameras()[0]
FLOOR = np.array([[3, 2], [7, 2], [7, 6], [3, 6], [5, 4], [4, 3], [6, 5.5]], dtype=float)


def pixels_of(floor: np.ndarray) -> np.ndarray:
    return Homography(CAM.floor_to_image).apply(floor)


def test_recovers_the_camera_homography_exactly() -> None:
    fit = estimate_homography(pixels_of(FLOOR), FLOOR)
    assert fit.rms_error < 1e-6
    np.testing.assert_allclose(fit.homography.matrix, CAM.image_to_floor, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(fit.homography.inverse().apply(FLOOR), pixels_of(FLOOR), atol=1e-5)


def test_reports_error_of_noisy_clicks_in_metres() -> None:
    rng = np.random.default_rng(1)
    px = pixels_of(FLOOR) + rng.normal(0, 1.0, FLOOR.shape)  # one-pixel clicking noise
    fit = estimate_homography(px, FLOOR)
    assert 0.001 < fit.rms_error < 0.1
    assert fit.max_error >= fit.rms_error
    assert fit.errors.shape == (len(FLOOR),)


def test_refuses_a_fit_above_the_threshold_with_the_numbers() -> None:
    floor = FLOOR.copy()
    floor[2] = [6, 7]  # a typo of a metre in one pair
    with pytest.raises(ReprojectionError) as info:
        estimate_homography(pixels_of(FLOOR), floor, max_rms_error=0.1)
    assert info.value.rms_error > 0.1
    assert "exceeds the threshold 0.1000" in str(info.value)
    assert isinstance(info.value, HomographyError)


def test_ransac_drops_the_outlier_and_accepts() -> None:
    floor = FLOOR.copy()
    floor[2] = [6, 7]
    fit = estimate_homography(pixels_of(FLOOR), floor, ransac_threshold=0.05)
    assert fit.inliers.tolist() == [True, True, False, True, True, True, True]
    assert fit.rms_error < 1e-6


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        (FLOOR[:3], FLOOR[:3], "at least 4 point pairs; got 3"),
        ([[0, 0], [1, 1], [2, 2], [3, 3]], FLOOR[:4], "source points are collinear"),
        (FLOOR, FLOOR[:5], "equal length"),
        (np.r_[FLOOR[:3], [[np.nan, 1]]], FLOOR[:4], "finite"),
    ],
)
def test_degenerate_input_is_refused(src: object, dst: object, message: str) -> None:
    with pytest.raises(DegenerateHomographyError, match=message):
        estimate_homography(src, dst)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.eye(2), "3x3"),
        (np.zeros((3, 3)), "h33 is zero"),
        ([[1, 2, 0], [2, 4, 0], [0, 0, 1]], "singular"),
        ([[1, 0, np.inf], [0, 1, 0], [0, 0, 1]], "finite"),
    ],
)
def test_malformed_matrices_are_refused(matrix: object, message: str) -> None:
    with pytest.raises(DegenerateHomographyError, match=message):
        Homography(matrix)  # type: ignore[arg-type]
