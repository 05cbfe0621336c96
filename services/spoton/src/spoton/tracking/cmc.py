"""Camera-motion compensation: estimate the frame-to-frame affine warp and move tracks with it."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from spoton.detection.base import validate_frame

__all__ = ["CMCMethod", "CameraMotionCompensator", "warp_states"]

CMCMethod = Literal["sparse", "ecc", "none"]
Array = npt.NDArray[np.float64]


class CameraMotionCompensator:
    """`estimate(frame) -> 2x3` affine from the previous frame to this one (identity on the first).

    `sparse`: Shi-Tomasi corners + pyramidal Lucas-Kanade flow + RANSAC partial affine (fast).
    `ecc`: OpenCV's enhanced correlation coefficient, Euclidean motion (slower, denser).
    Frames are downscaled by `downscale` first; translations are scaled back.
    """

    def __init__(self, method: CMCMethod = "sparse", *, downscale: int = 2) -> None:
        if method not in ("sparse", "ecc", "none"):
            raise ValueError(f"method must be 'sparse', 'ecc' or 'none'; got {method!r}")
        if downscale < 1:
            raise ValueError(f"downscale must be >= 1; got {downscale}")
        self.method = method
        self.downscale = downscale
        self._prev: npt.NDArray[np.uint8] | None = None

    def reset(self) -> None:
        self._prev = None

    def estimate(self, frame: npt.NDArray[np.uint8]) -> Array:
        identity = np.eye(2, 3)
        if self.method == "none":
            return identity
        image = validate_frame(frame)
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if self.downscale > 1:
            gray = cv2.resize(gray, (gray.shape[1] // self.downscale, gray.shape[0] // self.downscale))
        prev, self._prev = self._prev, gray
        if prev is None or prev.shape != gray.shape:
            return identity
        warp = self._sparse(prev, gray) if self.method == "sparse" else self._ecc(prev, gray)
        if warp is None:
            return identity
        warp[:, 2] *= self.downscale
        return warp

    @staticmethod
    def _sparse(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8]) -> Array | None:
        pts = cv2.goodFeaturesToTrack(prev, maxCorners=400, qualityLevel=0.01, minDistance=3, blockSize=3)
        if pts is None or len(pts) < 6:
            return None
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None)
        good = status.reshape(-1) == 1
        if good.sum() < 6:
            return None
        warp, _ = cv2.estimateAffinePartial2D(pts[good], nxt[good], method=cv2.RANSAC)
        return None if warp is None else warp.astype(np.float64)

    @staticmethod
    def _ecc(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8]) -> Array | None:
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        try:
            _, warp = cv2.findTransformECC(prev, cur, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 1)
        except cv2.error:
            return None  # ECC did not converge: assume a still camera for this frame
        return warp.astype(np.float64)


def warp_states(mean: Array, cov: Array, warp: Array, mode: Literal["xyah", "xywh"]) -> tuple[Array, Array]:
    """Apply an affine warp to Kalman states (N, 8) / (N, 8, 8): centres and their velocities move;
    in `xywh` mode widths and heights rotate/scale with the warp too."""
    if len(mean) == 0:
        return mean, cov
    rot = warp[:, :2]
    blocks = [rot, np.eye(2), rot, np.eye(2)] if mode == "xyah" else [rot, rot, rot, rot]
    big = np.zeros((8, 8))
    for k, b in enumerate(blocks):
        big[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = b
    if mode == "xywh":
        big[2:4, 2:4] = np.abs(rot)  # sizes stay positive under small rotations
    new_mean = mean @ big.T
    new_mean[:, :2] += warp[:, 2]
    new_cov = np.einsum("ij,njk,lk->nil", big, cov, big)
    return new_mean, new_cov
