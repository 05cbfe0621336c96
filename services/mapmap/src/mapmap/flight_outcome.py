"""A fetch's failure as a flight leader hands it to the processes waiting on it, and back."""

from __future__ import annotations

from mapmap.errors import (
    BadUpstreamResponse,
    CapabilitiesError,
    MapMapError,
    UnsafeURLError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = ["describe_error", "rebuild_error"]

_ERRORS: dict[str, type[MapMapError]] = {
    cls.code: cls for cls in (UpstreamError, BadUpstreamResponse, UpstreamTimeout, CapabilitiesError, UnsafeURLError)
}


def describe_error(error: MapMapError) -> dict[str, object]:
    described: dict[str, object] = {"error": error.code, "detail": error.message}
    if isinstance(error, UpstreamUnavailable):
        described["retry_after"] = error.retry_after
    return described


def rebuild_error(described: dict[str, object]) -> MapMapError:
    code, detail = str(described.get("error")), str(described.get("detail", "upstream failed"))
    if code == UpstreamUnavailable.code:
        return UpstreamUnavailable(detail, float(described.get("retry_after", 1.0)))  # type: ignore[arg-type]
    return _ERRORS.get(code, UpstreamError)(detail)
