"""Processing jobs: frame sources, per-frame detect/track/re-id, global ids, live fan-out."""

from spoton.pipeline.broadcast import Broadcaster, Subscription
from spoton.pipeline.jobs import JobCounters, JobManager, JobRuntime, JobStatus, request_task_stop, run_processing_job
from spoton.pipeline.linker import GlobalLinker, Link, Observation
from spoton.pipeline.live import LiveState, MemoryLiveState, RedisLiveState
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
    "JobRuntime",
    "JobStatus",
    "Link",
    "LiveState",
    "MemoryLiveState",
    "ModelSuite",
    "MultiVideoSource",
    "Observation",
    "RedisLiveState",
    "Subscription",
    "SyntheticSource",
    "VideoFileSource",
    "check_models",
    "probe_video",
    "request_task_stop",
    "run_processing_job",
]
