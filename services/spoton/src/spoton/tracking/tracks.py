"""`Tracks` (a tracker's output for one frame) and the `Tracker` port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from spoton.detection.detections import Detections
from spoton.errors import InvalidDetectionsError

__all__ = ["Tracker", "Tracks"]


@dataclass(frozen=True, eq=False)
class Tracks:
    """Confirmed tracks in one frame: pixel xyxy boxes, positive track ids, scores, classes."""

    xyxy: npt.NDArray[np.float32]
    track_id: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int32]

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4):
            raise InvalidDetectionsError(f"xyxy must have shape (N, 4); got {self.xyxy.shape}")
        for name in ("track_id", "confidence", "class_id"):
            got = getattr(self, name).shape
            if got != (n,):
                raise InvalidDetectionsError(f"{name} must have shape ({n},); got {got}")

    @classmethod
    def empty(cls) -> Tracks:
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
            np.zeros(0, np.int32),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def xywh(self) -> npt.NDArray[np.float32]:
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    def as_detections(self) -> Detections:
        return Detections(self.xyxy, np.clip(self.confidence, 0, 1), self.class_id)


@runtime_checkable
class Tracker(Protocol):
    """A multi-object tracker: feed every frame's detections in order; `reset` before a new video."""

    name: str

    def update(self, detections: Detections, frame: npt.NDArray[np.uint8] | None = None) -> Tracks: ...

    def predict(self, frame: npt.NDArray[np.uint8] | None = None) -> Tracks: ...

    def reset(self) -> None: ...
