"""People walking piecewise-linear paths on the floor plan at constant speed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.errors import SceneConfigError
from spoton.scene.figure import Appearance

__all__ = ["Walker", "WalkerPose"]


@dataclass(frozen=True)
class WalkerPose:
    x: float
    y: float
    phase: float  # gait phase, radians


@dataclass(frozen=True)
class Walker:
    """`waypoints` in metres; the walker appears at `start_s` and leaves after the last waypoint."""

    person_id: int
    waypoints: tuple[tuple[float, float], ...]
    speed_mps: float
    height_m: float
    appearance: Appearance
    start_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.waypoints) < 2:
            raise SceneConfigError(f"walker {self.person_id} needs >= 2 waypoints")
        if not 0.2 <= self.speed_mps <= 3.0:
            raise SceneConfigError(f"walker {self.person_id} speed must be 0.2..3 m/s; got {self.speed_mps}")
        if not 1.0 <= self.height_m <= 2.2:
            raise SceneConfigError(f"walker {self.person_id} height must be 1.0..2.2 m; got {self.height_m}")

    @property
    def _cumulative(self) -> npt.NDArray[np.float64]:
        pts = np.asarray(self.waypoints, dtype=float)
        return np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]

    @property
    def end_s(self) -> float:
        return self.start_s + float(self._cumulative[-1]) / self.speed_mps

    def pose(self, t: float) -> WalkerPose | None:
        """Where the walker is at time `t` seconds, or None before start / after the end."""
        if t < self.start_s or t > self.end_s:
            return None
        dist = (t - self.start_s) * self.speed_mps
        cum = self._cumulative
        k = int(np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(cum) - 2))
        seg = cum[k + 1] - cum[k]
        r = 0.0 if seg <= 0 else (dist - cum[k]) / seg
        (x0, y0), (x1, y1) = self.waypoints[k], self.waypoints[k + 1]
        stride = 0.75 * self.height_m  # metres per gait cycle
        return WalkerPose(x0 + r * (x1 - x0), y0 + r * (y1 - y0), 2 * math.pi * dist / stride)
