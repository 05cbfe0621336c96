"""Build the configured models once, at start-up, so a missing weights file fails before any job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spoton.detection import Detector, DetectorOptions, create_detector
from spoton.errors import UnknownModelError
from spoton.reid import AppearanceEmbedder, ColorStripeEmbedder
from spoton.reid.onnx_embedder import ONNX_REID_MODELS, create_onnx_embedder
from spoton.tracking import TRACKER_TYPES, Tracker, create_tracker

if TYPE_CHECKING:
    from spoton.config import Settings

__all__ = ["REID_TYPES", "ModelSuite", "check_models"]

REID_TYPES: tuple[str, ...] = ("color_stripes", *ONNX_REID_MODELS)


@dataclass(frozen=True)
class ModelSuite:
    """Factories for one job: detectors are shared (stateless), trackers are one per camera."""

    detector_type: str
    tracker_type: str
    reid_type: str
    settings_weights_dir: str
    detector_options: DetectorOptions = field(default_factory=DetectorOptions)

    def detector(self) -> Detector:
        from pathlib import Path

        return create_detector(self.detector_type, Path(self.settings_weights_dir), self.detector_options)

    def tracker(self, frame_rate: float) -> Tracker:
        return create_tracker(self.tracker_type, frame_rate=frame_rate)

    def embedder(self) -> AppearanceEmbedder:
        if self.reid_type == "color_stripes":
            return ColorStripeEmbedder()
        from pathlib import Path

        return create_onnx_embedder(self.reid_type, Path(self.settings_weights_dir))


def check_models(settings: Settings) -> ModelSuite:
    """Raise the core's precise error (unknown kind, missing weights file) or return the suite."""
    options = DetectorOptions(
        settings.DETECTOR_SCORE_THRESHOLD,
        settings.DETECTOR_NMS_IOU,
        settings.DETECTOR_THREADS,
        settings.DETECT_EVERY_N_FRAMES,
    )
    create_detector(settings.DETECTOR_TYPE, settings.WEIGHTS_DIR, options)
    if settings.TRACKER_TYPE not in TRACKER_TYPES:
        raise UnknownModelError("tracker", settings.TRACKER_TYPE, TRACKER_TYPES)
    if settings.REID_MODEL_TYPE not in REID_TYPES:
        raise UnknownModelError("re-id model", settings.REID_MODEL_TYPE, REID_TYPES)
    if settings.REID_MODEL_TYPE != "color_stripes":
        create_onnx_embedder(settings.REID_MODEL_TYPE, settings.WEIGHTS_DIR)  # a missing file fails start-up here
    return ModelSuite(
        settings.DETECTOR_TYPE, settings.TRACKER_TYPE, settings.REID_MODEL_TYPE, str(settings.WEIGHTS_DIR), options
    )
