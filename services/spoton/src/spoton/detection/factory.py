"""Build a detector from its configured kind; every failure happens here, at start-up, naming the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spoton.detection.base import Detector
from spoton.detection.hog import HOGPeopleDetector
from spoton.errors import UnknownModelError, WeightsNotFoundError

__all__ = ["DETECTOR_TYPES", "WEIGHTS_FILES", "DetectorOptions", "create_detector"]

# Weights each model reads from WEIGHTS_DIR; nothing is ever downloaded. SSDLite also ships a
# bundled copy (spoton/detection/models/), used when WEIGHTS_DIR has none.
WEIGHTS_FILES: dict[str, str] = {
    "ssdlite": "ssdlite_person.onnx",
    "fasterrcnn": "fasterrcnn_resnet50_fpn.pth",
}
DETECTOR_TYPES: tuple[str, ...] = ("hog", *WEIGHTS_FILES)


@dataclass(frozen=True)
class DetectorOptions:
    """Settings of the weights-based detectors (HOG keeps its own calibrated defaults)."""

    score_threshold: float = 0.3
    nms_iou: float = 0.5
    threads: int = 1  # intra-op threads per detector; the pipeline runs one detector per camera thread
    # Run the detector on every n-th frame of a camera; trackers coast on their prediction in between.
    detect_every: int = 1

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be >= 1; got {self.detect_every}")


def create_detector(kind: str, weights_dir: Path | None = None, options: DetectorOptions | None = None) -> Detector:
    """Return a ready detector, or raise before any frame is processed.

    Raises `UnknownModelError` for an unknown kind, `WeightsNotFoundError` naming the missing file,
    `DetectorUnavailableError` when a backend is missing (naming the extra) or a model file is unusable.
    """
    key = kind.strip().lower()
    opts = options or DetectorOptions()
    directory = weights_dir or Path("weights")
    if key == "hog":
        return HOGPeopleDetector()
    if key == "ssdlite":
        from spoton.detection.ssdlite import BUNDLED_SSDLITE_MODEL, SSDLiteDetector

        override = directory / WEIGHTS_FILES["ssdlite"]
        return SSDLiteDetector(
            override if override.is_file() else BUNDLED_SSDLITE_MODEL,
            score_threshold=opts.score_threshold,
            nms_iou=opts.nms_iou,
            threads=opts.threads,
        )
    if key == "fasterrcnn":
        from spoton.detection.fasterrcnn import FasterRCNNDetector

        path = directory / WEIGHTS_FILES["fasterrcnn"]
        if not path.is_file():
            raise WeightsNotFoundError(key, path)
        return FasterRCNNDetector(
            path, score_threshold=opts.score_threshold, nms_iou=opts.nms_iou, threads=opts.threads
        )
    raise UnknownModelError("detector", kind, DETECTOR_TYPES)
