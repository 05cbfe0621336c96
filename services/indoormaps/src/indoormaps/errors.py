"""One error root for the package; the HTTP layer maps each class to a status with `http_status`."""

from __future__ import annotations

__all__ = [
    "DatabaseUnavailable",
    "DrawingError",
    "ImdfError",
    "IndoorMapsError",
    "InvalidCursor",
    "InvalidParameter",
    "NoDataLoaded",
    "NotFound",
    "PoolExhausted",
    "QueryTimeout",
    "RouteNotFound",
    "SnapshotExpired",
    "UnknownLevel",
]


class IndoorMapsError(Exception):
    """Root of every error this package raises on purpose."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message}


class InvalidParameter(IndoorMapsError):
    """A request parameter failed validation; `param` names it."""

    http_status = 400
    code = "invalid_parameter"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "param": self.param}


class UnknownLevel(InvalidParameter):
    """The level ordinal does not exist in the data version being read."""

    code = "unknown_level"

    def __init__(self, ordinal: int, known: list[int]) -> None:
        super().__init__("level", f"no level with ordinal {ordinal}; known ordinals: {known}")
        self.ordinal = ordinal


class InvalidCursor(InvalidParameter):
    """The cursor is malformed, tampered with, or belongs to another query."""

    code = "invalid_cursor"

    def __init__(self, message: str) -> None:
        super().__init__("cursor", message)


class NotFound(IndoorMapsError):
    http_status = 404
    code = "not_found"


class RouteNotFound(IndoorMapsError):
    """No path joins the endpoints under the requested profile."""

    http_status = 404
    code = "route_not_found"


class SnapshotExpired(IndoorMapsError):
    """The data version a stream (or cursor) was reading has been purged by newer imports."""

    http_status = 410
    code = "snapshot_expired"


class NoDataLoaded(IndoorMapsError):
    """No data version has been imported yet."""

    http_status = 503
    code = "no_data"


class PoolExhausted(IndoorMapsError):
    """No database connection became free within the acquire timeout."""

    http_status = 503
    code = "pool_exhausted"


class QueryTimeout(IndoorMapsError):
    """PostgreSQL cancelled the statement at `statement_timeout`."""

    http_status = 503
    code = "query_timeout"


class DatabaseUnavailable(IndoorMapsError):
    http_status = 503
    code = "database_unavailable"


class ImdfError(IndoorMapsError):
    """The IMDF input is unreadable or inconsistent; `source` names the file (and feature)."""

    http_status = 422
    code = "invalid_imdf"

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class DrawingError(ImdfError):
    """A DXF or GeoJSON drawing cannot be converted (GDAL failed, wrong CRS, bad mapping)."""

    code = "invalid_drawing"
