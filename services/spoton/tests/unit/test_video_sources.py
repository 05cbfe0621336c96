"""Video sources: probing, one file per camera, timestamp sync across cameras of different FPS."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from spoton.errors import InvalidVideoError
from spoton.pipeline import MultiVideoSource, VideoFileSource, probe_video


def write_video(path: Path, fps: float, count: int) -> Path:
    """Frame i is a flat grey of level 10 * i, so a decoded frame tells which one it was."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(count):
        writer.write(np.full((48, 64, 3), 10 * i, np.uint8))
    writer.release()
    return path


def index_of(image: np.ndarray) -> int:
    return round(float(image.mean()) / 10)


def test_probe_and_single_file(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.avi", 10, 6)
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.frame_count) == (64, 48, 10.0, 6)
    source = VideoFileSource(path, "cam", max_frames=4)
    frames = list(source.frames())
    assert [n for n, _, _ in frames] == [1, 2, 3, 4]
    assert np.allclose([t for _, t, _ in frames], [0.0, 0.1, 0.2, 0.3])
    assert [index_of(images["cam"]) for _, _, images in frames] == [0, 1, 2, 3]


@pytest.mark.parametrize("content", [b"", b"\x00" * 1000, b"RIFF....AVI garbage"])
def test_bad_files_are_invalid_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.avi"
    path.write_bytes(content)
    with pytest.raises(InvalidVideoError):
        probe_video(path)
    with pytest.raises(InvalidVideoError, match="does not exist"):
        probe_video(tmp_path / "missing.avi")


def test_cameras_with_different_fps_are_synchronised_by_time(tmp_path: Path) -> None:
    fast = write_video(tmp_path / "fast.avi", 10, 10)  # 0.0 .. 0.9 s
    slow = write_video(tmp_path / "slow.avi", 5, 5)  # 0.0 .. 0.8 s
    source = MultiVideoSource([("fast", fast), ("slow", slow)])
    assert source.fps == 10.0
    assert source.camera_fps == {"fast": 10.0, "slow": 5.0}
    assert source.num_frames == 10
    ticks = list(source.frames())
    assert [n for n, _, _ in ticks] == list(range(1, 11))
    for n, t, images in ticks:
        assert index_of(images["fast"]) == n - 1  # every tick has the fast camera's frame of that time
        if "slow" in images:
            assert abs(index_of(images["slow"]) / 5.0 - t) < 1e-9  # the slow frame shown is the one due now
    assert [n for n, _, images in ticks if "slow" in images] == [1, 3, 5, 7, 9]  # no frame is repeated


def test_multi_video_refuses_duplicate_cameras(tmp_path: Path) -> None:
    a = write_video(tmp_path / "a.avi", 10, 2)
    with pytest.raises(InvalidVideoError, match="distinct"):
        MultiVideoSource([("c", a), ("c", a)])
    with pytest.raises(InvalidVideoError, match="at least one"):
        MultiVideoSource([])
