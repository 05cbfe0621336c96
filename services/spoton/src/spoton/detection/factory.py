"""Build a detector from its configured kind; missing weights fail at start-up, naming the file."""

from __future__ import annotations

from pathlib import Path

from spoton.detection.base import Detector
from spoton.detection.hog import HOGPeopleDetector
from spoton.errors import DetectorUnavailableError, UnknownModelError, WeightsNotFoundError

__all__ = ["DETECTOR_TYPES", "WEIGHTS_FILES", "create_detector"]

# Weights each model needs inside WEIGHTS_DIR; nothing is ever downloaded.
WEIGHTS_FILES: dict[str, str] = {
    "ssdlite": "ssdlite_person.onnx",
    "fasterrcnn": "fasterrcnn_resnet50_fpn.pth",
}
DETECTOR_TYPES: tuple[str, ...] = ("hog", *WEIGHTS_FILES)


def create_detector(kind: str, weights_dir: Path | None = None) -> Detector:
    """Return a ready detector, or raise before any frame is processed.

    Raises `UnknownModelError` for an unknown kind, `WeightsNotFoundError` naming the missing file,
    `DetectorUnavailableError` when the backend for a weights-based model is not available.
    """
    key = kind.strip().lower()
    if key == "hog":
        return HOGPeopleDetector()
    if key not in WEIGHTS_FILES:
        raise UnknownModelError("detector", kind, DETECTOR_TYPES)
    path = (weights_dir or Path("weights")) / WEIGHTS_FILES[key]
    if not path.is_file():
        raise WeightsNotFoundError(key, path)
    raise DetectorUnavailableError(
        f"detector {key!r}: weights found at {str(path)!r} but this build has no {key} backend yet; "
        "use DETECTOR_TYPE=hog"
    )
