"""Person detection: the `Detections` value type, the `Detector` port and its implementations."""

from spoton.detection.base import Detector, validate_frame
from spoton.detection.detections import PERSON_CLASS_ID, Detections
from spoton.detection.factory import DETECTOR_TYPES, WEIGHTS_FILES, DetectorOptions, create_detector
from spoton.detection.hog import HOGPeopleDetector
from spoton.detection.nms import non_max_suppression
from spoton.detection.ssdlite import SSDLiteDetector

__all__ = [
    "DETECTOR_TYPES",
    "PERSON_CLASS_ID",
    "WEIGHTS_FILES",
    "Detections",
    "Detector",
    "DetectorOptions",
    "HOGPeopleDetector",
    "SSDLiteDetector",
    "create_detector",
    "non_max_suppression",
    "validate_frame",
]
