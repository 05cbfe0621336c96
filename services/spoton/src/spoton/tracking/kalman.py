"""Constant-velocity Kalman filter on box state, batched over tracks.

`xyah` (centre, aspect, height; ByteTrack) or `xywh` (centre, width, height; BoT-SORT). Noise is
proportional to box size, so the filter behaves the same for near and far people.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.linalg

__all__ = ["KalmanBoxFilter"]

Array = npt.NDArray[np.float64]
Mode = Literal["xyah", "xywh"]


class KalmanBoxFilter:
    def __init__(self, mode: Mode = "xyah", *, std_position: float = 1 / 20, std_velocity: float = 1 / 160) -> None:
        if mode not in ("xyah", "xywh"):
            raise ValueError(f"mode must be 'xyah' or 'xywh'; got {mode!r}")
        self.mode: Mode = mode
        self._motion = np.eye(8)
        self._motion[:4, 4:] = np.eye(4)  # dt = 1 frame
        self._observe = np.eye(4, 8)
        self._wp = std_position
        self._wv = std_velocity

    # --- box conversions ---------------------------------------------------------------------
    def from_xyxy(self, xyxy: npt.ArrayLike) -> Array:
        b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        cx, cy = b[:, 0] + w / 2, b[:, 1] + h / 2
        third = w / np.maximum(h, 1e-6) if self.mode == "xyah" else w
        return np.stack([cx, cy, third, h], axis=1)

    def to_xyxy(self, measurement: Array) -> Array:
        m = np.asarray(measurement, dtype=np.float64).reshape(-1, 4)
        h = m[:, 3]
        w = m[:, 2] * h if self.mode == "xyah" else m[:, 2]
        return np.stack([m[:, 0] - w / 2, m[:, 1] - h / 2, m[:, 0] + w / 2, m[:, 1] + h / 2], axis=1)

    def _scales(self, mean: Array) -> Array:
        """Per-dimension size used to scale the noise: (h, h, const, h) or (w, h, w, h)."""
        m = np.atleast_2d(mean)
        h = m[:, 3]
        if self.mode == "xyah":
            return np.stack([h, h, np.zeros_like(h), h], axis=1)
        return np.stack([m[:, 2], m[:, 3], m[:, 2], m[:, 3]], axis=1)

    def _aspect_fix(self, std: Array, value: float) -> Array:
        if self.mode == "xyah":
            std[:, 2] = value
        return std

    # --- filter steps ------------------------------------------------------------------------
    def initiate(self, measurement: Array) -> tuple[Array, Array]:
        meas = np.asarray(measurement, dtype=np.float64).reshape(4)
        mean = np.r_[meas, np.zeros(4)]
        s = self._scales(mean)
        std = np.c_[self._aspect_fix(2 * self._wp * s, 1e-2), self._aspect_fix(10 * self._wv * s, 1e-5)]
        return mean, np.diag(np.square(std[0]))

    def predict(self, mean: Array, cov: Array) -> tuple[Array, Array]:
        """Batched: mean (N, 8), cov (N, 8, 8)."""
        if len(mean) == 0:
            return mean, cov
        s = self._scales(mean[:, :4])
        std = np.c_[self._aspect_fix(self._wp * s, 1e-2), self._aspect_fix(self._wv * s, 1e-5)]
        q = np.einsum("ni,ij->nij", np.square(std), np.eye(8))
        f = self._motion
        return mean @ f.T, np.einsum("ij,njk,lk->nil", f, cov, f) + q

    def project(self, mean: Array, cov: Array) -> tuple[Array, Array]:
        s = self._scales(mean[:4])[0]
        std = self._wp * s
        if self.mode == "xyah":
            std[2] = 1e-1
        h = self._observe
        return h @ mean, h @ cov @ h.T + np.diag(np.square(std))

    def update(self, mean: Array, cov: Array, measurement: Array) -> tuple[Array, Array]:
        proj_mean, proj_cov = self.project(mean, cov)
        chol = scipy.linalg.cho_factor(proj_cov, lower=True, check_finite=False)
        gain = scipy.linalg.cho_solve(chol, (cov @ self._observe.T).T, check_finite=False).T
        innovation = np.asarray(measurement, dtype=np.float64) - proj_mean
        return mean + innovation @ gain.T, cov - gain @ proj_cov @ gain.T
