"""A synthetic multi-camera scene: render frames and exact per-camera MOT ground truth."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from spoton.errors import SceneConfigError
from spoton.evaluation.mot_format import MOTSequence
from spoton.scene.camera import PinholeCamera
from spoton.scene.figure import draw_person, person_box
from spoton.scene.walkers import Walker

__all__ = ["FloorPlan", "GroundTruthBox", "SyntheticScene"]


@dataclass(frozen=True)
class FloorPlan:
    """A rectangle `width_m` x `depth_m`, origin at a corner, X along width, Y along depth."""

    width_m: float
    depth_m: float

    def contains(self, x: float, y: float) -> bool:
        return 0 <= x <= self.width_m and 0 <= y <= self.depth_m


@dataclass(frozen=True)
class GroundTruthBox:
    person_id: int
    xyxy: tuple[float, float, float, float]  # clipped to the image
    foot_px: tuple[float, float]
    floor_xy: tuple[float, float]
    depth_m: float
    visibility: float


class SyntheticScene:
    """Deterministic given its inputs: `render(cam, frame)` twice gives identical pixels.

    Frames are numbered from 1 (MOT convention); frame k is at time (k - 1) / fps.
    A person is drawn when inside the camera's `coverage` floor box (walls hide the rest), and is
    in its ground truth when >= `min_visibility` of the box is inside the image
    and not covered by nearer people, and the box is at least `min_height_px` tall.
    """

    def __init__(
        self,
        floor: FloorPlan,
        cameras: Sequence[PinholeCamera],
        walkers: Sequence[Walker],
        *,
        fps: float = 10.0,
        num_frames: int = 100,
        seed: int = 0,
        min_visibility: float = 0.5,
        min_height_px: float = 24.0,
        coverage: dict[str, tuple[float, float, float, float]] | None = None,
    ) -> None:
        if fps <= 0 or num_frames < 1:
            raise SceneConfigError("fps must be > 0 and num_frames >= 1")
        names = [c.name for c in cameras]
        if len(set(names)) != len(names) or not names:
            raise SceneConfigError(f"camera names must be unique and non-empty; got {names}")
        ids = [w.person_id for w in walkers]
        if len(set(ids)) != len(ids) or min(ids, default=1) < 1:
            raise SceneConfigError(f"person ids must be unique positive integers; got {ids}")
        self.floor = floor
        self.cameras = tuple(cameras)
        self.walkers = tuple(walkers)
        self.fps = fps
        self.num_frames = num_frames
        self.seed = seed
        self.min_visibility = min_visibility
        self.min_height_px = min_height_px
        # Walls: a camera only sees people inside its floor box (x0, x1, y0, y1), if given.
        self.coverage = dict(coverage or {})
        unknown = set(self.coverage) - set(names)
        if unknown:
            raise SceneConfigError(f"coverage names unknown cameras: {sorted(unknown)}")
        self._backgrounds = {c.name: self._background(c) for c in self.cameras}

    def camera(self, name: str) -> PinholeCamera:
        for c in self.cameras:
            if c.name == name:
                return c
        raise SceneConfigError(f"no camera named {name!r}; have {[c.name for c in self.cameras]}")

    def time_of(self, frame: int) -> float:
        return (frame - 1) / self.fps

    # --- rendering ----------------------------------------------------------------------------
    def _background(self, cam: PinholeCamera) -> npt.NDArray[np.uint8]:
        """Tiled floor seen through the camera's homography; walls elsewhere; fixed sensor noise."""
        ppm = 40  # floor texture pixels per metre
        fw, fd = round(self.floor.width_m * ppm), round(self.floor.depth_m * ppm)
        rng = np.random.default_rng(self.seed + 7919)
        tex = np.empty((fd, fw, 3), np.uint8)
        tex[:] = (150, 160, 165)
        tex[::ppm, :] = (115, 120, 125)  # 1 m tile joints: texture for camera-motion estimation
        tex[:, ::ppm] = (115, 120, 125)
        tex = np.clip(tex + rng.normal(0, 5, tex.shape), 0, 255).astype(np.uint8)
        img_to_tex = np.diag([ppm, ppm, 1.0]) @ cam.image_to_floor
        floor = cv2.warpPerspective(
            tex,
            img_to_tex,
            (cam.width, cam.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(200, 205, 210),
        )
        # Pixels whose ray points above the horizon see wall, not floor.
        vv, uu = np.mgrid[0 : cam.height, 0 : cam.width]
        rays = np.stack([uu, vv, np.ones_like(uu)], -1).reshape(-1, 3) @ np.linalg.inv(cam.intrinsics).T
        up = (rays @ cam.rotation)[:, 2].reshape(cam.height, cam.width) >= 0
        floor[up] = (200, 205, 210)
        return floor

    def _visible(self, cam: PinholeCamera, t: float) -> list[tuple[Walker, GroundTruthBox, float]]:
        items = []
        for w in self.walkers:
            pose = w.pose(t)
            if pose is None:
                continue
            box_m = self.coverage.get(cam.name)
            if box_m and not (box_m[0] <= pose.x <= box_m[1] and box_m[2] <= pose.y <= box_m[3]):
                continue
            (foot, head), depth = cam.project([[pose.x, pose.y, 0.0], [pose.x, pose.y, w.height_m]])
            if depth.min() <= 0.3:
                continue
            h_px = float(foot[1] - head[1])
            if h_px <= 0:
                continue
            box = person_box(float(foot[0]), float(foot[1]), h_px)
            gt = GroundTruthBox(
                w.person_id, box, (float(foot[0]), float(foot[1])), (pose.x, pose.y), float(depth[0]), 1.0
            )
            items.append((w, gt, pose.phase))
        items.sort(key=lambda it: -it[1].depth_m)  # far first: painter's algorithm
        return items

    def render(self, camera: str, frame: int) -> tuple[npt.NDArray[np.uint8], list[GroundTruthBox]]:
        """The BGR image of `camera` at `frame` and its ground-truth boxes (nearest last)."""
        cam = self.camera(camera)
        t = self.time_of(frame)
        image = self._backgrounds[cam.name].copy()
        items = self._visible(cam, t)
        for w, gt, phase in items:
            x1, y1, x2, y2 = gt.xyxy
            if x2 < -50 or x1 > cam.width + 50 or y2 < 0 or y1 > cam.height:
                continue
            draw_person(image, gt.foot_px[0], gt.foot_px[1], y2 - y1, w.appearance, phase)
        noise = np.random.default_rng(self.seed * 100003 + frame * 31 + zlib.crc32(cam.name.encode()) % 1000)
        image = cv2.add(image, noise.integers(0, 6, image.shape, dtype=np.uint8))
        return image, self._ground_truth(cam, items)

    def _ground_truth(
        self, cam: PinholeCamera, items: list[tuple[Walker, GroundTruthBox, float]]
    ) -> list[GroundTruthBox]:
        out: list[GroundTruthBox] = []
        boxes = [np.asarray(gt.xyxy) for _, gt, _ in items]
        for i, (_, gt, _) in enumerate(items):
            b = boxes[i]
            area = (b[2] - b[0]) * (b[3] - b[1])
            clip = np.array([max(b[0], 0), max(b[1], 0), min(b[2], cam.width), min(b[3], cam.height)])
            if clip[2] <= clip[0] or clip[3] <= clip[1] or area <= 0 or (b[3] - b[1]) < self.min_height_px:
                continue
            # Coverage by nearer people, on a coarse grid over the visible part.
            gx = np.linspace(clip[0], clip[2], 12)
            gy = np.linspace(clip[1], clip[3], 24)
            xx, yy = np.meshgrid(gx, gy)
            covered = np.zeros(xx.shape, bool)
            for n in boxes[i + 1 :]:
                covered |= (xx >= n[0]) & (xx <= n[2]) & (yy >= n[1]) & (yy <= n[3])
            inside = (clip[2] - clip[0]) * (clip[3] - clip[1]) / area
            vis = float(inside * (1.0 - covered.mean()))
            if vis < self.min_visibility:
                continue
            out.append(
                GroundTruthBox(
                    gt.person_id,
                    (float(clip[0]), float(clip[1]), float(clip[2]), float(clip[3])),
                    gt.foot_px,
                    gt.floor_xy,
                    gt.depth_m,
                    vis,
                )
            )
        return out

    # --- ground truth without pixels ------------------------------------------------------------
    def ground_truth(self, camera: str) -> MOTSequence:
        """Exact MOT ground truth of one camera; track ids are the global person ids."""
        cam = self.camera(camera)
        rows = []
        for frame in range(1, self.num_frames + 1):
            for gt in self._ground_truth(cam, self._visible(cam, self.time_of(frame))):
                x1, y1, x2, y2 = gt.xyxy
                rows.append((frame, gt.person_id, x1, y1, x2 - x1, y2 - y1, gt.visibility))
        if not rows:
            return MOTSequence.empty()
        a = np.asarray(rows, dtype=float)
        return MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6], None, np.ones(len(a)), a[:, 6])
