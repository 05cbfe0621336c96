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

__all__ = ["FrameSource", "SyntheticSource", "VideoFileSource", "probe_video"]

Image = npt.NDArray[np.uint8]


class FrameSource(Protocol):
    cameras: tuple[str, ...]
    fps: float
    num_frames: int

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
        self.cameras = (camera,)
        self.fps = info.fps
        total = info.frame_count or (max_frames or 0)
        self.num_frames = min(total, max_frames) if max_frames else total
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
