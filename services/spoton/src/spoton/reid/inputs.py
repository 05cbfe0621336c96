"""What every appearance embedder checks first: a valid BGR frame and finite boxes."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from spoton.detection.base import validate_frame
from spoton.errors import InvalidDetectionsError

__all__ = ["frame_and_boxes"]


def frame_and_boxes(
    frame: npt.NDArray[np.uint8], xyxy: npt.ArrayLike
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    """The frame as BGR (grey frames converted) and the boxes as an (N, 4) float array; raises
    `InvalidFrameError` / `InvalidDetectionsError` on bad input."""
    image = validate_frame(frame)
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) if np.size(xyxy) else np.zeros((0, 4))
    if not np.isfinite(boxes).all():
        raise InvalidDetectionsError("boxes must be finite")
    return image, boxes
