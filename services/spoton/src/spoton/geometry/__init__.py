"""Floor-plan geometry: validated homographies between image pixels and floor metres."""

from spoton.geometry.homography import (
    DEFAULT_MAX_REPROJECTION_ERROR_M,
    Homography,
    HomographyFit,
    estimate_homography,
)

__all__ = ["DEFAULT_MAX_REPROJECTION_ERROR_M", "Homography", "HomographyFit", "estimate_homography"]
