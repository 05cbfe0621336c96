"""One error root for the SpotOn domain core; the app layer maps these to HTTP statuses."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DegenerateHomographyError",
    "DetectorUnavailableError",
    "ExpiredError",
    "FeatureDisabledError",
    "HomographyError",
    "InvalidDetectionsError",
    "InvalidFrameError",
    "InvalidInputError",
    "InvalidVideoError",
    "JobQueueUnavailableError",
    "LiveStateUnavailableError",
    "MOTFormatError",
    "NotFoundError",
    "PermissionDeniedError",
    "ReprojectionError",
    "SceneConfigError",
    "ServiceConfigError",
    "SpotOnError",
    "UnknownModelError",
    "WeightsNotFoundError",
]


class SpotOnError(Exception):
    """Root of every error raised by the SpotOn domain core."""


class InvalidDetectionsError(SpotOnError, ValueError):
    """Detection arrays have the wrong shape, dtype or values."""


class InvalidFrameError(SpotOnError, ValueError):
    """An image frame is not an HxW or HxWx3 uint8 array."""


class UnknownModelError(SpotOnError, ValueError):
    """A detector/tracker/re-id kind is not one we know."""

    def __init__(self, family: str, kind: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown {family} type {kind!r}; expected one of: {', '.join(known)}")
        self.family = family
        self.kind = kind
        self.known = known


class WeightsNotFoundError(SpotOnError, FileNotFoundError):
    """A model needs a weights file that is not present (we never download at run time)."""

    def __init__(self, model: str, path: Path, fallback: str = "the zero-weight 'hog' detector") -> None:
        super().__init__(
            f"{model} needs its weights file {str(path)!r}, which does not exist; "
            f"place it there (WEIGHTS_DIR) or choose {fallback}"
        )
        self.model = model
        self.path = path


class DetectorUnavailableError(SpotOnError, RuntimeError):
    """A detector kind is known but its runtime backend is not installed or not built yet."""


class MOTFormatError(SpotOnError, ValueError):
    """A MOT-challenge text file is malformed; the message names the line."""


class HomographyError(SpotOnError, ValueError):
    """Root of homography estimation and validation errors."""


class DegenerateHomographyError(HomographyError):
    """Too few, non-finite or collinear point pairs, or a singular matrix."""


class ReprojectionError(HomographyError):
    """The fitted homography reprojects the given points worse than the allowed threshold."""

    def __init__(self, rms_error: float, max_error: float, threshold: float) -> None:
        super().__init__(
            f"homography refused: RMS reprojection error {rms_error:.4f} "
            f"(max {max_error:.4f}) exceeds the threshold {threshold:.4f}; "
            "check the point pairs for typos or swapped coordinates"
        )
        self.rms_error = rms_error
        self.max_error = max_error
        self.threshold = threshold


class SceneConfigError(SpotOnError, ValueError):
    """A synthetic scene description is inconsistent."""


# --- service (app-layer) errors: one table in `spoton.api.errors` maps each to an HTTP status ---


class ServiceConfigError(SpotOnError, RuntimeError):
    """The service's settings cannot work (e.g. no JWT secret); the message names the fix."""


class NotFoundError(SpotOnError, LookupError):
    """A resource does not exist (or the caller may not know it exists)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(SpotOnError):
    """The request conflicts with the current state (duplicate name, task already finished)."""


class InvalidInputError(SpotOnError, ValueError):
    """A request is well-formed JSON but its values cannot be used."""


class InvalidVideoError(InvalidInputError):
    """A video file cannot be opened or decoded."""


class ExpiredError(SpotOnError):
    """A resource existed but has expired (export downloads)."""


class FeatureDisabledError(SpotOnError):
    """An optional backend (S3, a model) is not configured."""


class AuthenticationError(SpotOnError):
    """Missing, malformed, tampered, expired or revoked credentials."""


class PermissionDeniedError(SpotOnError):
    """Authenticated, but the role does not allow this action."""


class LiveStateUnavailableError(SpotOnError):
    """The shared live-state store (Redis) cannot be reached; the request needs it."""


class JobQueueUnavailableError(SpotOnError):
    """The distributed job queue's broker cannot be reached; the job was not enqueued."""
