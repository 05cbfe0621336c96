"""Re-open the frames a finished task processed, from its stored parameters (for the annotated video)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spoton.errors import InvalidInputError, NotFoundError
from spoton.pipeline import FrameSource, MultiVideoSource, SyntheticSource, VideoFileSource
from spoton.scene import demo_scene

__all__ = ["TaskFrames"]


@dataclass
class TaskFrames:
    uploads: Path
    media_root: Path
    fetch_s3: Callable[[str], Path] | None = None  # the object store's fetch, when S3 is configured

    def source(self, kind: str, params: dict[str, Any]) -> FrameSource:
        if kind == "synthetic":
            scene = demo_scene(
                num_people=params["num_people"], num_frames=params["num_frames"], seed=params["seed"],
                width=params["width"], height=params["height"],
            )  # fmt: skip
            return SyntheticSource(scene, tuple(params["cameras"]))
        if params.get("videos"):
            multi = MultiVideoSource([(v["camera"], self._path(v)) for v in params["videos"]])
            if params.get("max_frames"):
                multi.num_frames = min(multi.num_frames, int(params["max_frames"]))
            return multi
        return VideoFileSource(self._path(params), params["camera"], max_frames=params.get("max_frames"))

    def _path(self, ref: dict[str, Any]) -> Path:
        if ref.get("s3_key"):
            if self.fetch_s3 is None:
                raise InvalidInputError("the task's video is in S3, which is not configured now")
            return self.fetch_s3(ref["s3_key"])
        if ref.get("video_id"):
            matches = sorted(self.uploads.glob(f"{ref['video_id']}.*"))
            if not matches:
                raise NotFoundError("video", ref["video_id"])
            return matches[0]
        root = self.media_root.resolve()
        path = (root / str(ref.get("path"))).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFoundError("video", str(ref.get("path")))
        return path
