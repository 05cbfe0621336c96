"""Per-frame work: detect -> track -> embed -> floor position per camera, then global linking.

`process_camera` is CPU-bound and thread-safe per camera (each camera owns its detector and
tracker), so the job runner calls it for every camera of a frame concurrently on a thread pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spoton.geometry import Homography
from spoton.pipeline.linker import GlobalLinker, Link, Observation
from spoton.pipeline.models import ModelSuite

__all__ = ["CameraFrame", "FrameProcessor", "StageTimes"]


@dataclass
class StageTimes:
    """Accumulated seconds per stage, for the task's stats and the benchmarks."""

    seconds: dict[str, float] = field(default_factory=dict)
    frames: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def mean_ms(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {stage: round(total * 1000 / n, 3) for stage, total in self.seconds.items()}


@dataclass(frozen=True)
class CameraFrame:
    camera: str
    xyxy: npt.NDArray[np.float32]
    track_id: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float32]
    floor: npt.NDArray[np.float64] | None  # (N, 2) metres, or None without a homography
    embeddings: npt.NDArray[np.float32] | None
    seconds: dict[str, float]


class FrameProcessor:
    def __init__(
        self,
        suite: ModelSuite,
        cameras: tuple[str, ...],
        fps: float | dict[str, float],
        homographies: dict[str, Homography | None],
        *,
        linker: GlobalLinker | None = None,
    ) -> None:
        self.cameras = cameras
        self._detectors = {c: suite.detector() for c in cameras}
        rates = fps if isinstance(fps, dict) else dict.fromkeys(cameras, fps)
        self._trackers = {c: suite.tracker(rates[c]) for c in cameras}
        self._embedders = {c: suite.embedder() for c in cameras}
        self._homographies = homographies
        self.linker = linker or GlobalLinker()
        self._detect_every = suite.detector_options.detect_every
        self._frames_seen = dict.fromkeys(cameras, 0)

    def process_camera(self, camera: str, image: npt.NDArray[np.uint8]) -> CameraFrame:
        times: dict[str, float] = {}
        # Each camera counts its own frames: cameras at differing FPS skip on their own clocks.
        detect_now = self._frames_seen[camera] % self._detect_every == 0
        self._frames_seen[camera] += 1
        start = time.perf_counter()
        detections = self._detectors[camera].detect(image) if detect_now else None
        times["detect"] = time.perf_counter() - start
        start = time.perf_counter()
        tracker = self._trackers[camera]
        tracks = tracker.update(detections, image) if detections is not None else tracker.predict(image)
        times["track"] = time.perf_counter() - start
        start = time.perf_counter()
        embeddings = self._embedders[camera].embed(image, tracks.xyxy) if len(tracks) else None
        times["reid"] = time.perf_counter() - start
        floor = None
        homography = self._homographies.get(camera)
        if homography is not None and len(tracks):
            feet = np.c_[(tracks.xyxy[:, 0] + tracks.xyxy[:, 2]) / 2, tracks.xyxy[:, 3]]
            floor = homography.apply(feet)
        return CameraFrame(camera, tracks.xyxy, tracks.track_id, tracks.confidence, floor, embeddings, times)

    def link(self, t: float, frames: list[CameraFrame]) -> list[list[Link]]:
        """Global links per camera frame, in the same order as the tracks."""
        observations: list[Observation] = []
        for cf in frames:
            for i in range(len(cf.track_id)):
                xy = None
                if cf.floor is not None and np.isfinite(cf.floor[i]).all():
                    xy = (float(cf.floor[i, 0]), float(cf.floor[i, 1]))
                emb = cf.embeddings[i] if cf.embeddings is not None else None
                observations.append(Observation(cf.camera, int(cf.track_id[i]), xy, emb))
        links = self.linker.update(t, observations)
        out: list[list[Link]] = []
        k = 0
        for cf in frames:
            out.append(links[k : k + len(cf.track_id)])
            k += len(cf.track_id)
        return out
