"""Person detection: the `Detections` value type, the `Detector` port and its implementations."""

from spoton.detection.base import Detector, validate_frame
from spoton.detection.detections import PERSON_CLASS_ID, Detections
from spoton.detection.factory import DETECTOR_TYPES, WEIGHTS_FILES, create_detector
from spoton.detection.hog import HOGPeopleDetector
from spoton.detection.nms import non_max_suppression

__all__ = [
    "DETECTOR_TYPES",
    "PERSON_CLASS_ID",
    "WEIGHTS_FILES",
    "Detections",
    "Detector",
    "HOGPeopleDetector",
    "create_detector",
    "non_max_suppression",
    "validate_frame",
]
