"""Where a job's frames come from: the synthetic demo scene or a video file, one camera per file.

Every source yields `(frame_number, seconds, {camera: image})`; frame numbers start at 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from spoton.errors import InvalidVideoError
from spoton.scene import SyntheticScene

__all__ = ["FrameSource", "MultiVideoSource", "SyntheticSource", "VideoFileSource", "probe_video"]

Image = npt.NDArray[np.uint8]


class FrameSource(Protocol):
    @property
    def cameras(self) -> tuple[str, ...]: ...

    @property
    def fps(self) -> float: ...

    @property
    def num_frames(self) -> int: ...

    @property
    def camera_fps(self) -> dict[str, float]: ...

    def frames(self) -> Iterator[tuple[int, float, dict[str, Image]]]: ...

    def close(self) -> None: ...


@dataclass
class SyntheticSource:
    scene: SyntheticScene
    cameras: tuple[str, ...]

    @property
    def fps(self) -> float:
        return self.scene.fps

    @property
    def camera_fps(self) -> dict[str, float]:
        return {c: self.scene.fps for c in self.cameras}

    @property
    def num_frames(self) -> int:
        return self.scene.num_frames

    def frames(self) -> Iterator[tuple[int, float, dict[str, Image]]]:
        for frame in range(1, self.scene.num_frames + 1):
            yield frame, self.scene.time_of(frame), {c: self.scene.render(c, frame)[0] for c in self.cameras}

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int


def probe_video(path: Path) -> VideoInfo:
    """Open the file and decode its first frame, or raise `InvalidVideoError` saying why."""
    if not path.is_file():
        raise InvalidVideoError(f"video file {path.name!r} does not exist")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InvalidVideoError(f"{path.name!r} is not a video OpenCV can open")
        ok, image = capture.read()
        if not ok or image is None or image.ndim != 3 or min(image.shape[:2]) < 8:
            raise InvalidVideoError(f"{path.name!r} has no decodable video frame")
        fps = capture.get(cv2.CAP_PROP_FPS)
        if not np.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 25.0  # containers without timing: assume PAL
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoInfo(int(image.shape[1]), int(image.shape[0]), float(fps), max(count, 0))
    finally:
        capture.release()


class VideoFileSource:
    """Decodes one file for one camera; `max_frames` bounds the job."""

    def __init__(self, path: Path, camera: str, *, max_frames: int | None = None) -> None:
        info = probe_video(path)
        self.path = path
        self.cameras: tuple[str, ...] = (camera,)
        self.fps = info.fps
        total = info.frame_count or (max_frames or 0)
        self.num_frames = min(total, max_frames) if max_frames else total
        self.camera_fps = {camera: self.fps}
        self._capture: cv2.VideoCapture | None = None

    def frames(self) -> Iterator[tuple[int, float, dict[str, Image]]]:
        self._capture = cv2.VideoCapture(str(self.path))
        frame = 0
        while not self.num_frames or frame < self.num_frames:
            ok, image = self._capture.read()
            if not ok or image is None:
                break
            frame += 1
            yield frame, (frame - 1) / self.fps, {self.cameras[0]: image}
        self.close()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class MultiVideoSource:
    """Several files, one per camera, synchronised by timestamp (frame index / the file's FPS).

    The timeline ticks at the fastest camera's rate; at each tick a camera contributes a frame only
    when it has a new one due (a 5 FPS camera appears on every other tick of a 10 FPS one), so its
    tracker sees its own frame rate and nothing is stored twice.
    """

    def __init__(self, videos: list[tuple[str, Path]], *, max_seconds: float | None = None) -> None:
        if not videos:
            raise InvalidVideoError("a multi-camera task needs at least one video")
        cameras = [camera for camera, _ in videos]
        if len(set(cameras)) != len(cameras):
            raise InvalidVideoError(f"camera names must be distinct; got {cameras}")
        infos = {camera: probe_video(path) for camera, path in videos}
        self.paths = dict(videos)
        self.cameras = tuple(cameras)
        self.camera_fps = {c: info.fps for c, info in infos.items()}
        self.fps = max(self.camera_fps.values())
        duration = max((info.frame_count or 0) / info.fps for info in infos.values())
        if max_seconds is not None:
            duration = min(duration, max_seconds)
        self.num_frames = max(1, round(duration * self.fps))
        self._captures: dict[str, cv2.VideoCapture] = {}

    def frames(self) -> Iterator[tuple[int, float, dict[str, Image]]]:
        self._captures = {c: cv2.VideoCapture(str(p)) for c, p in self.paths.items()}
        next_index = dict.fromkeys(self.cameras, 0)  # index of each camera's next undecoded frame
        half_tick = 0.5 / self.fps
        try:
            for tick in range(1, self.num_frames + 1):
                t = (tick - 1) / self.fps
                images: dict[str, Image] = {}
                for camera, capture in self._captures.items():
                    image = None
                    # Decode every frame due by now; keep the newest (a slower clock never repeats one).
                    while next_index[camera] / self.camera_fps[camera] <= t + half_tick:
                        ok, frame = capture.read()
                        if not ok or frame is None:
                            next_index[camera] = 1 << 62  # this file has ended
                            break
                        next_index[camera] += 1
                        image = frame
                    if image is not None:
                        images[camera] = image
                if images:
                    yield tick, t, images
        finally:
            self.close()

    def close(self) -> None:
        for capture in self._captures.values():
            capture.release()
        self._captures = {}
