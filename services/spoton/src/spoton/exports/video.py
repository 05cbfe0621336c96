"""Annotated MP4: every camera's frames with boxes and global ids, tiled into one video.

Written with OpenCV's bundled FFmpeg (MPEG-4 part 2, `mp4v`), so no system codec is needed.
Cameras sharing a tick are tiled left to right, top to bottom; a camera without a frame at a tick
(slower FPS) keeps showing its previous one.
"""

from __future__ import annotations

import colorsys
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from spoton.errors import InvalidInputError
from spoton.pipeline import FrameSource

__all__ = ["id_colour", "write_annotated_video"]

Image = npt.NDArray[np.uint8]
MAX_VIDEO_PIXELS = 3840 * 2160


def id_colour(global_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per id (golden-ratio hue steps)."""
    hue = (global_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def _annotate(image: Image, camera: str, frame: int, boxes: Sequence[Sequence[Any]]) -> Image:
    out = image.copy()
    for x1, y1, x2, y2, gid in boxes:
        colour = id_colour(int(gid) if gid is not None else 0)
        p1, p2 = (round(x1), round(y1)), (round(x2), round(y2))
        cv2.rectangle(out, p1, p2, colour, 2)
        label = f"#{gid}" if gid is not None else "?"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(p1[1] - th - 4, 0)
        cv2.rectangle(out, (p1[0], top), (p1[0] + tw + 4, top + th + 4), colour, -1)
        cv2.putText(out, label, (p1[0] + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        out, f"{camera}  frame {frame}", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA
    )
    return out


def write_annotated_video(source: FrameSource, rows: Sequence[Sequence[Any]], target: Path) -> Path:
    """`rows` are (camera, frame, x1, y1, x2, y2, global_person_id); returns `target` (an .mp4)."""
    boxes: dict[tuple[str, int], list[Sequence[Any]]] = defaultdict(list)
    for camera, frame, x1, y1, x2, y2, gid in rows:
        boxes[(str(camera), int(frame))].append((x1, y1, x2, y2, gid))
    cameras = list(source.cameras)
    cols = math.ceil(math.sqrt(len(cameras)))
    grid_rows = math.ceil(len(cameras) / cols)
    tiles: dict[str, Image] = {}
    writer: cv2.VideoWriter | None = None
    tile_size: tuple[int, int] | None = None
    written = 0
    try:
        for frame, _, images in source.frames():
            for camera, image in images.items():
                if tile_size is None:
                    tile_size = (image.shape[1], image.shape[0])
                    if tile_size[0] * cols * tile_size[1] * grid_rows > MAX_VIDEO_PIXELS:
                        raise InvalidInputError("the tiled video would exceed 4K; export fewer cameras")
                if (image.shape[1], image.shape[0]) != tile_size:
                    image = np.asarray(cv2.resize(image, tile_size), dtype=np.uint8)
                tiles[camera] = _annotate(image, camera, frame, boxes.get((camera, frame), ()))
            assert tile_size is not None  # the first frame set it
            w, h = tile_size
            canvas = np.zeros((h * grid_rows, w * cols, 3), np.uint8)
            for i, camera in enumerate(cameras):
                if camera in tiles:
                    r, c = divmod(i, cols)
                    canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = tiles[camera]
            if writer is None:
                fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                writer = cv2.VideoWriter(str(target), fourcc, float(source.fps), (w * cols, h * grid_rows))
                if not writer.isOpened():
                    raise RuntimeError("OpenCV could not open an mp4v video writer")
            writer.write(canvas)
            written += 1
    finally:
        if writer is not None:
            writer.release()
        source.close()
    if written == 0:
        raise InvalidInputError("the task's video has no frames to annotate")
    return target
