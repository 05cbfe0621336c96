"""The HTTP layer's errors and the one table mapping every capstore error to a status and a JSON body
(`{"error": code, "detail": message}`, plus `outcome` for a refused CP write)."""

from __future__ import annotations

from typing import Any

from capstore.errors import (
    CannotHonourSession,
    CapstoreError,
    CPReadUnavailable,
    CPWriteRefused,
    InvalidInput,
    InvalidSessionToken,
    NoNodeAvailable,
)

__all__ = [
    "AdminForbidden",
    "AdminUnauthorized",
    "FaultAdminDisabled",
    "KeyNotFound",
    "PeerUnavailable",
    "UnknownNode",
    "ValueTooLarge",
    "error_body",
    "error_headers",
    "http_status",
]


class ValueTooLarge(InvalidInput):
    """A value over the size limit (→ 413)."""


class KeyNotFound(CapstoreError):
    """JSON API: the key was never written, or was deleted (→ 404)."""


class UnknownNode(CapstoreError):
    """Admin: no node with that id (→ 404)."""


class FaultAdminDisabled(CapstoreError):
    """Admin fault injection is off (production without ENABLE_FAULT_ADMIN) (→ 404)."""


class AdminUnauthorized(CapstoreError):
    """Missing or wrong admin token (→ 401)."""


class AdminForbidden(CapstoreError):
    """No admin token is configured and the caller is not on this machine (→ 403)."""


class PeerUnavailable(CapstoreError):
    """The console could not reach the other app (→ 502)."""


# Most specific first: the first matching row wins.
_TABLE: tuple[tuple[type[CapstoreError], int, str], ...] = (
    (ValueTooLarge, 413, "value_too_large"),
    (InvalidSessionToken, 400, "invalid_session_token"),
    (InvalidInput, 400, "invalid_input"),
    (KeyNotFound, 404, "not_found"),
    (UnknownNode, 404, "unknown_node"),
    (FaultAdminDisabled, 404, "fault_admin_disabled"),
    (AdminUnauthorized, 401, "unauthorized"),
    (AdminForbidden, 403, "forbidden"),
    (CPWriteRefused, 503, "write_refused"),
    (CPReadUnavailable, 503, "primary_unavailable"),
    (CannotHonourSession, 503, "session_unavailable"),
    (NoNodeAvailable, 503, "no_node_available"),
    (PeerUnavailable, 502, "peer_unavailable"),
)


def _row(error: CapstoreError) -> tuple[int, str]:
    for kind, status, code in _TABLE:
        if isinstance(error, kind):
            return status, code
    return 500, "internal_error"


def http_status(error: CapstoreError) -> int:
    return _row(error)[0]


def error_body(error: CapstoreError) -> dict[str, Any]:
    _, code = _row(error)
    body: dict[str, Any] = {"error": code, "detail": str(error)}
    if isinstance(error, CPWriteRefused):
        body["outcome"] = error.outcome.value
        body["detail"] = error.reason
    return body


def error_headers(error: CapstoreError, session: str | None, session_header: str) -> dict[str, str]:
    """A 503 echoes the client's session token (it is still valid) and says when to retry."""
    if http_status(error) != 503:
        return {}
    headers = {session_header: session} if session else {}
    headers["Retry-After"] = "1"
    return headers
