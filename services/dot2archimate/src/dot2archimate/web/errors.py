"""The web layer's own errors and the one table mapping every package error to an HTTP status."""

from __future__ import annotations

from ..errors import (
    ArchimateFormatError,
    Dot2ArchimateError,
    DotSyntaxError,
    GraphTooLargeError,
    LayoutError,
    RelationshipPolicyError,
    RulesError,
    SchemaValidationError,
    TerraformGraphError,
    TimeBudgetExceededError,
    UnsafeXmlError,
)

__all__ = [
    "BusyError",
    "CsrfError",
    "EmptyInputError",
    "NotFoundError",
    "StorageUnavailableError",
    "UnsupportedMediaTypeError",
    "UploadTooLargeError",
    "error_status",
]


class UploadTooLargeError(Dot2ArchimateError):
    """The uploaded file or pasted text is over MAX_UPLOAD_MB."""

    http_status = 413


class UnsupportedMediaTypeError(Dot2ArchimateError):
    """Wrong extension, binary content, or content that is neither DOT nor ArchiMate XML."""

    http_status = 415


class EmptyInputError(Dot2ArchimateError):
    """No file and no text, both at once, or an empty upload."""


class CsrfError(Dot2ArchimateError):
    """A form POST without this session's CSRF token."""

    http_status = 403


class NotFoundError(Dot2ArchimateError):
    """No such result in this browser's session (another session's results are never visible)."""

    http_status = 404


class BusyError(Dot2ArchimateError):
    """Every conversion slot stayed busy for CONVERT_QUEUE_TIMEOUT."""

    http_status = 503


class StorageUnavailableError(Dot2ArchimateError):
    """Session storage (Redis or DATA_DIR) cannot be reached right now."""

    http_status = 503


# Most specific first; the first matching class decides (status, code).
_TABLE: tuple[tuple[type[Dot2ArchimateError], int, str], ...] = (
    (UploadTooLargeError, 413, "upload_too_large"),
    (GraphTooLargeError, 413, "graph_too_large"),
    (UnsupportedMediaTypeError, 415, "unsupported_media_type"),
    (EmptyInputError, 422, "empty_input"),
    (CsrfError, 403, "csrf_failed"),
    (NotFoundError, 404, "not_found"),
    (BusyError, 503, "busy"),
    (StorageUnavailableError, 503, "storage_unavailable"),
    (DotSyntaxError, 422, "dot_syntax_error"),
    (UnsafeXmlError, 422, "unsafe_xml"),
    (ArchimateFormatError, 422, "not_archimate"),
    (TerraformGraphError, 422, "bad_terraform_graph"),
    (RulesError, 422, "invalid_rules"),
    (RelationshipPolicyError, 422, "relationship_refused"),
    (TimeBudgetExceededError, 422, "time_budget_exceeded"),
    (LayoutError, 500, "layout_failed"),
    (SchemaValidationError, 500, "invalid_output"),
    (Dot2ArchimateError, 422, "invalid_input"),
)


def error_status(error: Dot2ArchimateError) -> tuple[int, str]:
    """(HTTP status, stable error code) for any error of this package."""
    for cls, status, code in _TABLE:
        if isinstance(error, cls):
            return status, code
    return 422, "invalid_input"  # pragma: no cover - Dot2ArchimateError is the last row
