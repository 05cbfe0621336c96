"""MapMap's one error tree and the one table that maps it to HTTP statuses.

Third-party errors (httpx, lxml, pyproj) are translated into these at the adapter boundary, so the
app never lets an upstream problem turn into a 500.
"""

from __future__ import annotations

__all__ = [
    "AdminAuthError",
    "BadUpstreamResponse",
    "CapabilitiesError",
    "ConfigError",
    "InvalidTileRequest",
    "MapMapError",
    "NotFoundError",
    "TileOutOfRange",
    "UnsafeURLError",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "error_body",
    "http_status",
]


class MapMapError(Exception):
    """Root of every MapMap error; `code` is the stable machine-readable name."""

    code = "mapmap_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTileRequest(MapMapError):
    """Malformed z/x/y, format, parameter: the client's fault."""

    code = "invalid_tile_request"


class TileOutOfRange(InvalidTileRequest):
    """A well-formed index outside the TileMatrixSet or its limits."""

    code = "tile_out_of_range"


class NotFoundError(MapMapError):
    """Unknown endpoint, layer, style or TileMatrixSet."""

    code = "not_found"


class ConfigError(MapMapError):
    code = "config_error"


class CapabilitiesError(MapMapError):
    """An upstream's capabilities document is unusable (malformed, unsafe, missing parts)."""

    code = "bad_capabilities"


class UnsafeURLError(MapMapError):
    """A URL (from capabilities or config) points outside the upstream host allow-list."""

    code = "url_not_allowed"


class UpstreamError(MapMapError):
    """The upstream answered badly (5xx, refused connection after retry)."""

    code = "upstream_error"


class BadUpstreamResponse(UpstreamError):
    """The upstream's body is not an image we accept (wrong magic, too big, a bomb)."""

    code = "bad_upstream_response"


class UpstreamTimeout(UpstreamError):
    code = "upstream_timeout"


class UpstreamUnavailable(UpstreamError):
    """The upstream's breaker is open; `retry_after` seconds until it may be tried again."""

    code = "upstream_unavailable"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AdminAuthError(MapMapError):
    code = "unauthorized"


_STATUS: tuple[tuple[type[MapMapError], int], ...] = (
    (InvalidTileRequest, 400),
    (NotFoundError, 404),
    (AdminAuthError, 401),
    (UpstreamUnavailable, 503),
    (UpstreamTimeout, 504),
    (UpstreamError, 502),
    (CapabilitiesError, 502),
    (UnsafeURLError, 502),
    (ConfigError, 500),
)


def http_status(error: MapMapError) -> int:
    """The HTTP status for an error (the first matching row, most specific first)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_body(error: MapMapError) -> dict[str, str]:
    return {"error": error.code, "detail": error.message}
