"""capstore's error tree: one root, typed leaves the app layer maps to HTTP statuses.

Redis and socket errors never leave `capstore.node`; they are translated there into `NodeError`s
that say whether the command may have reached the node (`maybe_applied`).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CPReadUnavailable",
    "CPWriteRefused",
    "CannotHonourSession",
    "CapstoreError",
    "InvalidInput",
    "InvalidSessionToken",
    "InvalidVersion",
    "NoNodeAvailable",
    "NodeError",
    "NodeTimeout",
    "NodeUnavailable",
    "WriteOutcome",
]


class CapstoreError(Exception):
    """Root of every error capstore raises on purpose."""


class InvalidInput(CapstoreError, ValueError):
    """A key, value or argument failed validation (→ 400/422)."""


class InvalidVersion(InvalidInput):
    """A version string or node id is malformed."""


class InvalidSessionToken(InvalidInput):
    """A session token is malformed, or its signature does not verify (→ 400)."""


class NodeError(CapstoreError):
    """A node call failed. `maybe_applied` is False only when the command surely never reached it."""

    def __init__(self, node: str, message: str, *, maybe_applied: bool) -> None:
        self.node = node
        self.maybe_applied = maybe_applied
        super().__init__(f"node {node}: {message}")


class NodeUnavailable(NodeError):
    """Connection refused/reset/closed, or the node's breaker refused the call."""


class NodeTimeout(NodeError):
    """No reply within the network timeout (the command may have been applied)."""


class WriteOutcome(StrEnum):
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    UNKNOWN = "unknown"


class CPWriteRefused(CapstoreError):
    """A CP write was not acknowledged (→ 503). `outcome` is NOT_APPLIED (never visible) or UNKNOWN."""

    def __init__(self, key: str, outcome: WriteOutcome, reason: str) -> None:
        self.key = key
        self.outcome = outcome
        self.reason = reason
        super().__init__(f"write of {key!r} refused ({outcome.value}): {reason}")


class CPReadUnavailable(CapstoreError):
    """The CP primary cannot serve reads right now (→ 503)."""


class NoNodeAvailable(CapstoreError):
    """AP: no node at all could take the request (→ 503)."""


class CannotHonourSession(CapstoreError):
    """AP: no reachable node has applied the session's writes in time (→ 503, retry later)."""
