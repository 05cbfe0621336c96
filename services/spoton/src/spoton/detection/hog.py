"""OpenCV's HOG + linear SVM people detector: the zero-weight default (needs OpenCV 4.x)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from spoton.detection.base import validate_frame
from spoton.detection.detections import PERSON_CLASS_ID, Detections
from spoton.detection.nms import non_max_suppression
from spoton.errors import DetectorUnavailableError

__all__ = ["HOGPeopleDetector"]

_MARGIN_X = 12 / 64
_MARGIN_Y = 16 / 128


class HOGPeopleDetector:
    """Dalal-Triggs pedestrian detector shipped inside OpenCV.

    `resize_width` downsizes big frames first (HOG cost grows with pixels); boxes are mapped back.
    SVM margins are squashed to (0, 1) confidences with a logistic so trackers can threshold them.
    """

    name = "hog"

    def __init__(
        self,
        *,
        win_stride: tuple[int, int] = (8, 8),
        padding: tuple[int, int] = (8, 8),
        scale: float = 1.05,
        hit_threshold: float = 0.0,
        nms_iou: float = 0.45,
        resize_width: int | None = 640,
        upscale_small: bool = False,
        tighten: bool = True,
    ) -> None:
        if not hasattr(cv2, "HOGDescriptor_getDefaultPeopleDetector"):
            raise DetectorUnavailableError(
                f"OpenCV {cv2.__version__} has no HOG people detector; install opencv-python-headless<5"
            )
        if scale <= 1.0:
            raise ValueError(f"scale must be > 1.0; got {scale}")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride = win_stride
        self.padding = padding
        self.scale = scale
        self.hit_threshold = hit_threshold
        self.nms_iou = nms_iou
        self.resize_width = resize_width
        self.upscale_small = upscale_small
        self.tighten = tighten

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        image = validate_frame(frame)
        h, w = image.shape[:2]
        factor = 1.0
        if self.resize_width is not None and (w > self.resize_width or self.upscale_small):
            factor = self.resize_width / w
            image = cv2.resize(image, (self.resize_width, round(h * factor)), interpolation=cv2.INTER_AREA)
        rects, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=self.padding,
            scale=self.scale,
        )
        if len(rects) == 0:
            return Detections.empty()
        boxes = np.asarray(rects, dtype=np.float32).reshape(-1, 4) / factor
        if self.tighten:
            # The 64x128 training window holds a ~40x96 person: trim the margins to the body.
            boxes[:, 0] += _MARGIN_X * boxes[:, 2]
            boxes[:, 1] += _MARGIN_Y * boxes[:, 3]
            boxes[:, 2] *= 1 - 2 * _MARGIN_X
            boxes[:, 3] *= 1 - 2 * _MARGIN_Y
        boxes[:, 2:] += boxes[:, :2]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        margin = np.asarray(weights, dtype=np.float32).reshape(-1)
        conf = (1.0 / (1.0 + np.exp(-2.0 * margin))).astype(np.float32)
        keep = non_max_suppression(boxes, conf, self.nms_iou)
        return Detections(boxes[keep], conf[keep], np.full(len(keep), PERSON_CLASS_ID, np.int32))
