"""Request and response bodies (pydantic); strict limits keep hostile input out of the domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from spoton.security import Role

__all__ = [
    "CalibrationIn",
    "CameraIn",
    "CameraOut",
    "CameraPatch",
    "EnvironmentIn",
    "EnvironmentOut",
    "EnvironmentPatch",
    "ExportIn",
    "ExportOut",
    "LoginIn",
    "TaskIn",
    "TaskOut",
    "TokenOut",
    "TopologyIn",
    "TransitLinkIn",
    "TripwireIn",
    "UserIn",
    "UserOut",
    "VideoRef",
    "ZoneIn",
]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$"
Name = Field(min_length=1, max_length=100, pattern=_NAME_PATTERN)
# Pixels and metres: a million either way is already absurd, and keeps the numerics finite.
Coord = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
Point = tuple[Coord, Coord]
Entry = Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]
Row3 = Annotated[list[Entry], Field(min_length=3, max_length=3)]
Matrix3 = Annotated[list[Row3], Field(min_length=3, max_length=3)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    role: Role


class UserIn(_In):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-@]+$")
    password: str = Field(min_length=12, max_length=1024)
    role: Role


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: dt.datetime


class ZoneIn(_In):
    name: str = Name
    polygon: list[Point] = Field(min_length=3, max_length=256)


class TripwireIn(_In):
    name: str = Name
    a: Point
    b: Point


CameraName = Annotated[str, Field(min_length=1, max_length=100, pattern=_NAME_PATTERN)]
Seconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]


class TransitLinkIn(_In):
    cameras: tuple[CameraName, CameraName]
    min_s: Seconds = 0.0
    max_s: Seconds


class TopologyIn(_In):
    overlaps: list[tuple[CameraName, CameraName]] = Field(default_factory=list, max_length=256)
    links: list[TransitLinkIn] = Field(default_factory=list, max_length=256)
    overlap_max_gap_s: float = Field(default=2.0, ge=0, le=60)


class EnvironmentIn(_In):
    name: str = Name
    description: str = Field(default="", max_length=2000)
    zones: list[ZoneIn] = Field(default_factory=list, max_length=100)
    tripwires: list[TripwireIn] = Field(default_factory=list, max_length=100)
    topology: TopologyIn | None = None


class EnvironmentPatch(_In):
    description: str | None = Field(default=None, max_length=2000)
    zones: list[ZoneIn] | None = Field(default=None, max_length=100)
    tripwires: list[TripwireIn] | None = Field(default=None, max_length=100)
    topology: TopologyIn | None = None


class EnvironmentOut(BaseModel):
    id: int
    name: str
    description: str
    zones: list[dict[str, Any]]
    tripwires: list[dict[str, Any]] = Field(default_factory=list)
    topology: dict[str, Any] | None = None
    created_at: dt.datetime


class CalibrationIn(_In):
    image_points: list[Point] = Field(min_length=4, max_length=500)
    floor_points: list[Point] = Field(min_length=4, max_length=500)
    max_rms_error_m: float = Field(default=0.10, gt=0, le=5)
    ransac_threshold_m: float | None = Field(default=None, gt=0, le=5)


class CameraIn(_In):
    name: str = Name
    source: str | None = Field(default=None, max_length=2000)
    fps: float = Field(default=10.0, gt=0, le=240)
    homography: Matrix3 | None = None
    calibration: CalibrationIn | None = None


class CameraPatch(_In):
    source: str | None = Field(default=None, max_length=2000)
    fps: float | None = Field(default=None, gt=0, le=240)
    homography: Matrix3 | None = None
    calibration: CalibrationIn | None = None


class CameraOut(BaseModel):
    id: int
    environment_id: int
    name: str
    fps: float
    has_source: bool
    homography: Matrix3 | None
    reprojection_rms_m: float | None


class VideoRef(_In):
    camera: str = Field(min_length=1, max_length=100, pattern=_NAME_PATTERN)
    video_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    path: str | None = Field(default=None, max_length=500)
    s3_key: str | None = Field(default=None, max_length=1024)


class TaskIn(_In):
    source: Literal["synthetic", "video"]
    environment_id: int | None = None
    # synthetic demo scene
    num_frames: int = Field(default=100, ge=1, le=20_000)
    num_people: int = Field(default=6, ge=1, le=30)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    cameras: list[str] | None = Field(default=None, max_length=16)
    width: int = Field(default=640, ge=160, le=1920)
    height: int = Field(default=360, ge=120, le=1080)
    # video file: an uploaded video id, or a path under MEDIA_ROOT
    video_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    path: str | None = Field(default=None, max_length=500)
    s3_key: str | None = Field(default=None, max_length=1024)
    camera: str = Field(default="cam1", min_length=1, max_length=100, pattern=_NAME_PATTERN)
    max_frames: int | None = Field(default=None, ge=1, le=1_000_000)
    # several cameras at once, synchronised by timestamp (instead of video_id/path/camera)
    videos: list[VideoRef] | None = Field(default=None, min_length=1, max_length=16)


class TaskOut(BaseModel):
    id: str
    environment_id: int | None
    source: str
    status: str
    progress: float
    frames_done: int
    frames_total: int
    params: dict[str, Any]
    stats: dict[str, Any]
    error: str | None
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ExportIn(_In):
    task_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    format: Literal["csv", "json", "mot", "xlsx", "pdf", "mp4"]


class ExportOut(BaseModel):
    id: str
    task_id: str
    format: str
    status: str
    size_bytes: int | None
    error: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    download_url: str | None
