"""Persistence: schema, engine, migrations and the append-only audit log."""

from spoton.db.audit import record_audit
from spoton.db.engine import Database, async_url
from spoton.db.models import (
    AuditEntry,
    Base,
    Camera,
    Detection,
    Environment,
    ExportJob,
    GlobalPerson,
    Task,
    TrackRecord,
    User,
    utcnow,
)

__all__ = [
    "AuditEntry",
    "Base",
    "Camera",
    "Database",
    "Detection",
    "Environment",
    "ExportJob",
    "GlobalPerson",
    "Task",
    "TrackRecord",
    "User",
    "async_url",
    "record_audit",
    "utcnow",
]
