"""Job specs: a JSON description of a task's frame source, stored on the task row.

The API writes the spec when it accepts a task; whichever runner executes the job (this process
or a queue worker elsewhere) rebuilds the same source from it. Local paths must be readable by the
worker (a shared volume); `s3_key` videos are fetched by the worker's own object store. The
environment's camera topology (if any) travels in the spec too (`with_topology`), so topology-gated
re-id behaves the same wherever the job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spoton.errors import InvalidInputError
from spoton.geometry import Homography
from spoton.pipeline.sources import FrameSource, MultiVideoSource, SyntheticSource, VideoFileSource
from spoton.reid import CameraTopology

__all__ = [
    "build_job",
    "homographies_json",
    "spec_topology",
    "synthetic_spec",
    "video_spec",
    "videos_spec",
    "with_topology",
]

Homographies = dict[str, Homography | None]
JobInputs = tuple[Callable[[], FrameSource], Homographies]


def homographies_json(homographies: Homographies) -> dict[str, list[list[float]] | None]:
    return {cam: None if h is None else np.asarray(h.matrix).tolist() for cam, h in homographies.items()}


def synthetic_spec(scene: dict[str, Any], cameras: list[str], homographies: Homographies) -> dict[str, Any]:
    return {"kind": "synthetic", "scene": scene, "cameras": cameras, "homographies": homographies_json(homographies)}


def _video_ref(camera: str, path: Path, s3_key: str | None) -> dict[str, Any]:
    return {"camera": camera, "path": str(path), "s3_key": s3_key}


def video_spec(
    camera: str, path: Path, s3_key: str | None, max_frames: int | None, homographies: Homographies
) -> dict[str, Any]:
    return {"kind": "video", "video": _video_ref(camera, path, s3_key), "max_frames": max_frames,
            "homographies": homographies_json(homographies)}  # fmt: skip


def videos_spec(
    videos: list[tuple[str, Path, str | None]], max_frames: int | None, homographies: Homographies
) -> dict[str, Any]:
    return {"kind": "videos", "videos": [_video_ref(c, p, k) for c, p, k in videos], "max_frames": max_frames,
            "homographies": homographies_json(homographies)}  # fmt: skip


def with_topology(spec: dict[str, Any], topology: CameraTopology | None) -> dict[str, Any]:
    return spec if topology is None else {**spec, "topology": topology.to_dict()}


def spec_topology(spec: dict[str, Any]) -> CameraTopology | None:
    data = spec.get("topology")
    return None if not data else CameraTopology.from_dict(data)


def _local_path(ref: dict[str, Any], object_store: Any) -> Path:
    path = Path(ref["path"])
    if not path.exists() and ref.get("s3_key") and object_store is not None:
        return Path(object_store.fetch(ref["s3_key"]))
    return path


def build_job(spec: dict[str, Any], object_store: Any = None) -> JobInputs:
    """(source factory, homographies) for a stored spec; the factory runs on the job's thread pool."""
    homographies: Homographies = {
        cam: None if m is None else Homography(np.asarray(m, dtype=np.float64))
        for cam, m in (spec.get("homographies") or {}).items()
    }
    kind = spec.get("kind")
    if kind == "synthetic":
        from spoton.scene import demo_scene

        scene_args, cameras = dict(spec["scene"]), tuple(spec["cameras"])
        return (lambda: SyntheticSource(demo_scene(**scene_args), cameras)), homographies
    max_frames = spec.get("max_frames")
    if kind == "video":
        ref = spec["video"]

        def video() -> FrameSource:
            return VideoFileSource(_local_path(ref, object_store), ref["camera"], max_frames=max_frames)

        return video, homographies
    if kind == "videos":
        refs = spec["videos"]

        def videos() -> FrameSource:
            multi = MultiVideoSource([(r["camera"], _local_path(r, object_store)) for r in refs])
            if max_frames:
                multi.num_frames = min(multi.num_frames, max_frames)
            return multi

        return videos, homographies
    raise InvalidInputError(f"unknown job spec kind {kind!r}")
