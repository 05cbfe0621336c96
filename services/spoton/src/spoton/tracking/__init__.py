"""Multi-object tracking: ByteTrack and BoT-SORT behind `update(detections, frame) / reset()`."""

from spoton.tracking.botsort import BoTSORT, BoTSORTConfig
from spoton.tracking.bytetrack import ByteTrack, ByteTrackConfig
from spoton.tracking.cmc import CameraMotionCompensator, warp_states
from spoton.tracking.factory import TRACKER_TYPES, create_tracker
from spoton.tracking.kalman import KalmanBoxFilter
from spoton.tracking.matching import cosine_distance, fuse_score, iou_xyxy, linear_assignment
from spoton.tracking.tracks import Tracker, Tracks

__all__ = [
    "TRACKER_TYPES",
    "BoTSORT",
    "BoTSORTConfig",
    "ByteTrack",
    "ByteTrackConfig",
    "CameraMotionCompensator",
    "KalmanBoxFilter",
    "Tracker",
    "Tracks",
    "cosine_distance",
    "create_tracker",
    "fuse_score",
    "iou_xyxy",
    "linear_assignment",
    "warp_states",
]
