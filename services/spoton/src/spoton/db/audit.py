"""The audit trail: this module only ever INSERTs (a test scans the code for any other path)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spoton.db.models import AuditEntry

__all__ = ["record_audit"]


def record_audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction, so it commits (or not) with the change it records."""
    entry = AuditEntry(actor=actor, action=action, target=target, details=details or {}, client_ip=client_ip)
    session.add(entry)
    return entry
