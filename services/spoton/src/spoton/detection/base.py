"""The detector port: anything that turns a frame into `Detections`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from spoton.detection.detections import Detections
from spoton.errors import InvalidFrameError

__all__ = ["Detector", "validate_frame"]


@runtime_checkable
class Detector(Protocol):
    """Synchronous, CPU-bound: the app runs it in a worker thread or process."""

    name: str

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections: ...


def validate_frame(frame: object) -> npt.NDArray[np.uint8]:
    """Return the frame if it is an HxW or HxWx3 uint8 image, else raise `InvalidFrameError`."""
    if not isinstance(frame, np.ndarray):
        raise InvalidFrameError(f"frame must be a numpy array; got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InvalidFrameError(f"frame dtype must be uint8; got {frame.dtype}")
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise InvalidFrameError(f"frame must have shape (H, W) or (H, W, 3); got {frame.shape}")
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        raise InvalidFrameError(f"frame is too small: {frame.shape[1]}x{frame.shape[0]} pixels")
    return frame
