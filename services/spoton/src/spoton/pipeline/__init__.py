"""Processing jobs: frame sources, per-frame detect/track/re-id, global ids, live fan-out."""

from spoton.pipeline.broadcast import Broadcaster, Subscription
from spoton.pipeline.jobs import JobCounters, JobManager, JobStatus
from spoton.pipeline.linker import GlobalLinker, Link, Observation
from spoton.pipeline.models import REID_TYPES, ModelSuite, check_models
from spoton.pipeline.processor import CameraFrame, FrameProcessor
from spoton.pipeline.sources import FrameSource, MultiVideoSource, SyntheticSource, VideoFileSource, probe_video

__all__ = [
    "REID_TYPES",
    "Broadcaster",
    "CameraFrame",
    "FrameProcessor",
    "FrameSource",
    "GlobalLinker",
    "JobCounters",
    "JobManager",
    "JobStatus",
    "Link",
    "ModelSuite",
    "MultiVideoSource",
    "Observation",
    "Subscription",
    "SyntheticSource",
    "VideoFileSource",
    "check_models",
    "probe_video",
]
