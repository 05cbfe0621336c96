"""BoT-SORT (Aharon et al., 2022): ByteTrack + xywh Kalman + camera-motion compensation +
IoU/appearance fusion in the first association stage. Our own implementation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.detection.detections import Detections
from spoton.reid.color_stripes import AppearanceEmbedder, ColorStripeEmbedder
from spoton.tracking.bytetrack import ByteTrack, ByteTrackConfig
from spoton.tracking.cmc import CameraMotionCompensator, CMCMethod, warp_states
from spoton.tracking.kalman import Mode
from spoton.tracking.matching import cosine_distance, fuse_score, iou_xyxy
from spoton.tracking.track_state import TrackedObject

__all__ = ["BoTSORT", "BoTSORTConfig"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BoTSORTConfig(ByteTrackConfig):
    track_high_thresh: float = 0.6
    new_track_thresh: float = 0.7
    proximity_thresh: float = 0.5  # appearance only counts where IoU distance is below this
    appearance_thresh: float = 0.25  # cosine distance above this: appearance says "different"
    feature_momentum: float = 0.9
    with_reid: bool = True
    cmc_method: CMCMethod = "sparse"
    cmc_downscale: int = 2


class BoTSORT(ByteTrack):
    """Needs the frame for appearance and camera motion; without one it degrades to ByteTrack
    with an xywh Kalman filter."""

    name = "botsort"
    kalman_mode: Mode = "xywh"
    config: BoTSORTConfig

    def __init__(self, config: BoTSORTConfig | None = None, *, embedder: AppearanceEmbedder | None = None) -> None:
        cfg = config or BoTSORTConfig()
        self.embedder = embedder or ColorStripeEmbedder()
        self.cmc = CameraMotionCompensator(cfg.cmc_method, downscale=cfg.cmc_downscale)
        self._feature_momentum = cfg.feature_momentum
        super().__init__(cfg)

    def reset(self) -> None:
        super().reset()
        self.cmc.reset()

    def _features(self, detections: Detections, frame: npt.NDArray[np.uint8] | None) -> Array | None:
        if frame is None or not self.config.with_reid or not len(detections):
            return None
        return self.embedder.embed(frame, detections.xyxy).astype(np.float64)

    def _compensate(self, tracks: list[TrackedObject], frame: npt.NDArray[np.uint8] | None) -> None:
        if frame is None:
            return
        warp = self.cmc.estimate(frame)
        if not tracks or np.allclose(warp, np.eye(2, 3)):
            return
        mean, cov = warp_states(
            np.stack([t.mean for t in tracks]), np.stack([t.cov for t in tracks]), warp, self.kalman_mode
        )
        for i, t in enumerate(tracks):
            t.mean, t.cov = mean[i], cov[i]

    def _first_stage_cost(self, tracks: list[TrackedObject], boxes: Array, scores: Array, feats: Array | None) -> Array:
        cfg = self.config
        iou_cost = 1.0 - iou_xyxy(self._boxes(tracks), boxes)
        far = iou_cost > cfg.proximity_thresh
        cost = fuse_score(iou_cost, scores) if cfg.fuse_score else iou_cost
        if feats is None or not tracks or not len(boxes):
            return cost
        track_feats = np.stack([t.feature if t.feature is not None else np.zeros(feats.shape[1]) for t in tracks])
        emb = cosine_distance(track_feats, feats) / 2.0
        emb[emb > cfg.appearance_thresh] = 1.0
        emb[far] = 1.0
        return np.minimum(cost, emb)
