from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spoton.detection import HOGPeopleDetector, SSDLiteDetector, create_detector
from spoton.detection.ssdlite import BUNDLED_SSDLITE_MODEL
from spoton.errors import DetectorUnavailableError, InvalidFrameError, UnknownModelError, WeightsNotFoundError
from spoton.scene import SyntheticScene
from spoton.tracking import iou_xyxy


def test_factory_builds_hog_by_default_name() -> None:
    assert create_detector("HOG").name == "hog"


def test_factory_names_the_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        create_detector("fasterrcnn", tmp_path)
    assert str(tmp_path / "fasterrcnn_resnet50_fpn.pth") in str(info.value)
    assert info.value.path == tmp_path / "fasterrcnn_resnet50_fpn.pth"


def test_ssdlite_needs_no_weights_dir_because_its_model_is_bundled(tmp_path: Path) -> None:
    detector = create_detector("ssdlite", tmp_path)
    assert isinstance(detector, SSDLiteDetector)
    assert detector.model_path == BUNDLED_SSDLITE_MODEL


def test_factory_rejects_unknown_kind_listing_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="expected one of: hog, ssdlite, fasterrcnn"):
        create_detector("yolo")


def test_an_unreadable_ssdlite_file_in_weights_dir_is_a_typed_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "ssdlite_person.onnx").write_bytes(b"not really a model")
    with pytest.raises(DetectorUnavailableError, match="cannot be loaded") as info:
        create_detector("ssdlite", tmp_path)
    assert str(tmp_path / "ssdlite_person.onnx") in str(info.value)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((100, 100, 3), np.float32), "dtype must be uint8"),
        (np.zeros((100, 100, 4), np.uint8), "shape (H, W) or (H, W, 3)"),
        (np.zeros((4, 4), np.uint8), "too small"),
        ([[1, 2]], "numpy array"),
    ],
)
def test_hog_rejects_bad_frames(frame: object, message: str) -> None:
    with pytest.raises(InvalidFrameError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HOGPeopleDetector().detect(frame)  # type: ignore[arg-type]


def test_hog_finds_nobody_on_an_empty_floor(scene: SyntheticScene) -> None:
    empty = scene._backgrounds["cam_b"]
    assert len(HOGPeopleDetector().detect(empty)) == 0


@pytest.mark.slow
def test_hog_detects_rendered_figures(scene: SyntheticScene) -> None:
    """Recall at IoU >= 0.5 on fully visible figures at least 100 px tall, over all cameras."""
    detector = HOGPeopleDetector()
    found = total = false_pos = 0
    for cam in scene.cameras:
        for frame in range(1, 200, 10):
            image, truth = scene.render(cam.name, frame)
            dets = detector.detect(image)
            iou = iou_xyxy([g.xyxy for g in truth], dets.xyxy)
            for k, g in enumerate(truth):
                if g.visibility >= 0.8 and g.xyxy[3] - g.xyxy[1] >= 100:
                    total += 1
                    found += bool(iou.shape[1]) and iou[k].max() >= 0.5
            false_pos += int((iou.max(axis=0) < 0.3).sum()) if iou.size else len(dets)
    assert total >= 60
    assert found / total >= 0.85, f"HOG recall {found}/{total}"
    assert false_pos <= 0.1 * total
