"""Internal per-track state shared by ByteTrack and BoT-SORT."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spoton.tracking.kalman import KalmanBoxFilter

__all__ = ["TrackState", "TrackedObject"]

Array = npt.NDArray[np.float64]


class TrackState(enum.Enum):
    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


@dataclass(eq=False)
class TrackedObject:
    mean: Array
    cov: Array
    score: float
    class_id: int
    start_frame: int
    track_id: int = 0
    state: TrackState = TrackState.NEW
    is_activated: bool = False
    frame_id: int = 0
    tracklet_len: int = 0
    feature: Array | None = None  # smoothed, L2-normalised appearance (BoT-SORT)
    history: list[int] = field(default_factory=list)

    def xyxy(self, kf: KalmanBoxFilter) -> Array:
        return kf.to_xyxy(self.mean[:4])[0]

    def update_feature(self, feature: Array | None, momentum: float) -> None:
        if feature is None:
            return
        f = feature / max(float(np.linalg.norm(feature)), 1e-12)
        if self.feature is None:
            self.feature = f
        else:
            mixed = momentum * self.feature + (1 - momentum) * f
            self.feature = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
