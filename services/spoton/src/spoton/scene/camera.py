"""A pinhole camera standing in a floor plan (metres), with its exact floor homography."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spoton.errors import SceneConfigError

__all__ = ["PinholeCamera"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PinholeCamera:
    """World: X, Y on the floor, Z up (metres). Camera axes follow OpenCV: x right, y down, z forward.

    `yaw_deg` is the viewing direction on the floor (0 = +X, 90 = +Y); `pitch_deg` tilts it down.
    """

    name: str
    position: tuple[float, float, float]
    yaw_deg: float
    pitch_deg: float
    focal_px: float
    width: int
    height: int
    rotation: Array = field(init=False, repr=False)
    intrinsics: Array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.position[2] <= 0:
            raise SceneConfigError(f"camera {self.name!r} must be above the floor; z={self.position[2]}")
        if not 0 < self.pitch_deg < 90:
            raise SceneConfigError(f"camera {self.name!r} pitch must be in (0, 90); got {self.pitch_deg}")
        if self.width < 64 or self.height < 64 or self.focal_px <= 0:
            raise SceneConfigError(f"camera {self.name!r} needs >= 64x64 pixels and a positive focal length")
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        forward = np.array([math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), -math.sin(pitch)])
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        down = np.cross(forward, right)
        k = np.array([[self.focal_px, 0, self.width / 2], [0, self.focal_px, self.height / 2], [0, 0, 1]], dtype=float)
        object.__setattr__(self, "rotation", np.stack([right, down, forward]))
        object.__setattr__(self, "intrinsics", k)

    def project(self, points: npt.ArrayLike) -> tuple[Array, Array]:
        """World points (N, 3) to pixels (N, 2) and depths (N,) along the optical axis."""
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        cam = (pts - np.asarray(self.position)) @ self.rotation.T
        depth = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam @ self.intrinsics.T)[:, :2] / depth[:, None]
        return uv, depth

    @property
    def floor_to_image(self) -> Array:
        """3x3 homography from floor metres (X, Y, 1) to pixels."""
        t = -self.rotation @ np.asarray(self.position, dtype=float)
        h = self.intrinsics @ np.column_stack([self.rotation[:, 0], self.rotation[:, 1], t])
        return h / h[2, 2]

    @property
    def image_to_floor(self) -> Array:
        h = np.linalg.inv(self.floor_to_image)
        return h / h[2, 2]
