"""The relational schema (SQLAlchemy 2 declarative); Alembic migrations create exactly this.

Frame-level rows (`detections`) carry a wall-clock `observed_at` and their primary key is
(id, observed_at), so on PostgreSQL with TimescaleDB the table becomes a hypertable partitioned on
that column (every unique index of a hypertable must include its time column). SQLite keeps the
rowid key on `id` alone (it only autoincrements a single-column key); `id` is unique either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditEntry",
    "Base",
    "Camera",
    "Detection",
    "Environment",
    "ExportJob",
    "GlobalPerson",
    "Task",
    "TrackRecord",
    "User",
    "utcnow",
]

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER keys


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Environment(Base):
    __tablename__ = "environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Zones on the floor plan: [{"name": str, "polygon": [[x, y], ...]}] in metres.
    zones: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Tripwires on the floor plan: [{"name": str, "a": [x, y], "b": [x, y]}] in metres.
    tripwires: Mapped[list[Any]] = mapped_column(default=list)
    # Camera topology (overlapping views, transit windows); see spoton.reid.CameraTopology.
    topology: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Encrypted with ENCRYPTION_SECRET_KEY: stream URLs often carry credentials.
    source_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    fps: Mapped[float] = mapped_column(Float, default=10.0)
    homography: Mapped[list[Any] | None] = mapped_column(default=None)  # 3x3 image px -> floor m
    reprojection_rms_m: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL"), index=True, default=None
    )
    source: Mapped[str] = mapped_column(String(16))  # synthetic | video
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Job lease: the runner that owns the task refreshes heartbeat_at; a stale one means it died.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    # What the job needs to rebuild its frame source anywhere (see spoton.pipeline.specs).
    job_spec: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class GlobalPerson(Base):
    """One person across cameras within a task; the GDPR subject of export and erasure."""

    __tablename__ = "global_persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    label: Mapped[int] = mapped_column(Integer)  # the id the pipeline used within the task
    embedding: Mapped[list[Any] | None] = mapped_column(default=None)  # mean appearance vector
    first_seen_s: Mapped[float] = mapped_column(Float)
    last_seen_s: Mapped[float] = mapped_column(Float)
    cameras: Mapped[list[Any]] = mapped_column(default=list)
    __table_args__ = (UniqueConstraint("task_id", "label"),)


class TrackRecord(Base):
    """One local track of one camera, linked to a global person with a confidence."""

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("task_id", "camera", "track_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    camera: Mapped[str] = mapped_column(String(100))
    track_id: Mapped[int] = mapped_column(Integer)
    global_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("global_persons.id", ondelete="CASCADE"), index=True, default=None
    )
    link_confidence: Mapped[float] = mapped_column(Float, default=1.0)
    link_reason: Mapped[str] = mapped_column(String(16), default="new")
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)


class Detection(Base):
    """One tracked box in one frame of one camera."""

    __tablename__ = "detections"
    __table_args__ = (
        Index("ix_detections_task_frame", "task_id", "frame"),
        Index("ix_detections_person", "global_person_id"),
        Index("ix_detections_observed_at", "observed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The hypertable's time column: the task's start (UTC) plus `ts`; part of the primary key.
    observed_at: Mapped[dt.datetime] = mapped_column(primary_key=True, default=utcnow)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    camera: Mapped[str] = mapped_column(String(100))
    frame: Mapped[int] = mapped_column(Integer)
    ts: Mapped[float] = mapped_column(Float)  # seconds since the task's start of video
    track_id: Mapped[int] = mapped_column(Integer)
    global_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("global_persons.id", ondelete="CASCADE"), default=None
    )
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    floor_x: Mapped[float | None] = mapped_column(Float, default=None)
    floor_y: Mapped[float | None] = mapped_column(Float, default=None)


class ExportJob(Base):
    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(Text, default=None)
    size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class AuditEntry(Base):
    """Append-only: the code never updates or deletes rows, and database triggers refuse it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
