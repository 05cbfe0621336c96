"""Build a tracker from its configured kind (TRACKER_TYPE)."""

from __future__ import annotations

from spoton.errors import UnknownModelError
from spoton.tracking.botsort import BoTSORT, BoTSORTConfig
from spoton.tracking.bytetrack import ByteTrack, ByteTrackConfig
from spoton.tracking.tracks import Tracker

__all__ = ["TRACKER_TYPES", "create_tracker"]

TRACKER_TYPES: tuple[str, ...] = ("bytetrack", "botsort")


def create_tracker(kind: str, *, frame_rate: float = 30.0) -> Tracker:
    key = kind.strip().lower()
    if key == "bytetrack":
        return ByteTrack(ByteTrackConfig(frame_rate=frame_rate))
    if key == "botsort":
        return BoTSORT(BoTSORTConfig(frame_rate=frame_rate))
    raise UnknownModelError("tracker", kind, TRACKER_TYPES)
