"""Image <-> floor homographies: estimated from point pairs, validated, refused when they do not fit."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from spoton.errors import DegenerateHomographyError, ReprojectionError

__all__ = ["DEFAULT_MAX_REPROJECTION_ERROR_M", "Homography", "HomographyFit", "estimate_homography"]

# Floor-plan metres: 10 cm RMS is already sloppy for foot points.
DEFAULT_MAX_REPROJECTION_ERROR_M = 0.10

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Homography:
    """A validated 3x3 projective map (normalised so h33 = 1)."""

    matrix: Array

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (3, 3):
            raise DegenerateHomographyError(f"homography must be 3x3; got shape {m.shape}")
        if not np.isfinite(m).all():
            raise DegenerateHomographyError("homography must be finite; got NaN or inf")
        if abs(m[2, 2]) < 1e-12:
            raise DegenerateHomographyError("homography h33 is zero; it maps the origin to infinity")
        m = m / m[2, 2]
        cond = np.linalg.cond(m)
        if not np.isfinite(cond) or cond > 1e12:
            raise DegenerateHomographyError(f"homography is singular (condition number {cond:.3g})")
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)

    @classmethod
    def identity(cls) -> Homography:
        return cls(np.eye(3))

    def apply(self, points: npt.ArrayLike) -> Array:
        """Map (N, 2) points; points that land on the line at infinity come back as NaN."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        homog = np.c_[pts, np.ones(len(pts))] @ self.matrix.T
        w = homog[:, 2:3]
        out = np.full((len(pts), 2), np.nan)
        ok = np.abs(w[:, 0]) > 1e-12
        out[ok] = homog[ok, :2] / w[ok]
        return out

    def inverse(self) -> Homography:
        return Homography(np.linalg.inv(self.matrix))

    def to_list(self) -> list[list[float]]:
        return self.matrix.tolist()  # type: ignore[no-any-return]


@dataclass(frozen=True, eq=False)
class HomographyFit:
    homography: Homography
    errors: Array  # per pair, in destination units
    rms_error: float
    max_error: float
    inliers: npt.NDArray[np.bool_]


def _check_pairs(src: Array, dst: Array) -> None:
    if src.ndim != 2 or src.shape[1] != 2 or dst.shape != src.shape:
        raise DegenerateHomographyError(
            f"need two (N, 2) point arrays of equal length; got {src.shape} and {dst.shape}"
        )
    if len(src) < 4:
        raise DegenerateHomographyError(f"need at least 4 point pairs; got {len(src)}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise DegenerateHomographyError("point coordinates must be finite")
    for name, pts in (("source", src), ("destination", dst)):
        centred = pts - pts.mean(axis=0)
        sv = np.linalg.svd(centred, compute_uv=False)
        if sv[1] <= 1e-9 * max(sv[0], 1e-12):
            raise DegenerateHomographyError(f"{name} points are collinear or coincident")


def estimate_homography(
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    *,
    max_rms_error: float = DEFAULT_MAX_REPROJECTION_ERROR_M,
    ransac_threshold: float | None = None,
) -> HomographyFit:
    """Fit src -> dst (e.g. image pixels -> floor metres) and report the reprojection error.

    Least squares over all pairs by default; with `ransac_threshold` (destination units) outliers
    are rejected first and the error is reported on inliers. Raises `ReprojectionError` when the
    RMS error exceeds `max_rms_error`, `DegenerateHomographyError` for unusable input.
    """
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    _check_pairs(s, d)
    if ransac_threshold is None:
        matrix, _ = cv2.findHomography(s, d, 0)
        inliers = np.ones(len(s), bool)
    else:
        matrix, mask = cv2.findHomography(s, d, cv2.RANSAC, ransac_threshold)
        inliers = np.zeros(len(s), bool) if mask is None else mask.reshape(-1).astype(bool)
    if matrix is None or inliers.sum() < 4:
        raise DegenerateHomographyError("no homography fits these point pairs")
    h = Homography(matrix)
    errors = np.linalg.norm(h.apply(s) - d, axis=1)
    errors = np.where(np.isfinite(errors), errors, np.inf)
    rms = float(np.sqrt(np.mean(np.square(errors[inliers]))))
    worst = float(errors[inliers].max())
    if not rms <= max_rms_error:
        raise ReprojectionError(rms, worst, max_rms_error)
    return HomographyFit(h, errors, rms, worst, inliers)
