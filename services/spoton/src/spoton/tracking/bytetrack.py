"""ByteTrack (Zhang et al., ECCV 2022): associate every detection box, high scores first.

Our own implementation on numpy + scipy. Stage 1 matches confirmed and lost tracks to high-score
detections by IoU; stage 2 gives still-unmatched tracked targets a second chance with low-score
detections (occluded people often score low); then unconfirmed tracks; then births and deaths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.detection.detections import Detections
from spoton.tracking.kalman import KalmanBoxFilter, Mode
from spoton.tracking.matching import fuse_score, iou_xyxy, linear_assignment
from spoton.tracking.track_state import TrackedObject, TrackState
from spoton.tracking.tracks import Tracks

__all__ = ["ByteTrack", "ByteTrackConfig"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ByteTrackConfig:
    track_high_thresh: float = 0.5  # detections at or above: stage 1 and births
    track_low_thresh: float = 0.1  # between low and high: stage 2 only; below: ignored
    new_track_thresh: float = 0.6  # minimum score to start a track
    match_thresh: float = 0.8  # stage-1 max cost (1 - IoU * score)
    second_match_thresh: float = 0.5  # stage-2 max cost (1 - IoU)
    unconfirmed_match_thresh: float = 0.7
    track_buffer: int = 30  # frames a lost track is kept, at 30 FPS
    frame_rate: float = 30.0
    fuse_score: bool = True
    min_box_area: float = 0.0  # smaller output boxes are hidden (not deleted)

    def __post_init__(self) -> None:
        if not 0 <= self.track_low_thresh <= self.track_high_thresh <= 1:
            raise ValueError("need 0 <= track_low_thresh <= track_high_thresh <= 1")
        if self.track_buffer < 0 or self.frame_rate <= 0:
            raise ValueError("track_buffer must be >= 0 and frame_rate > 0")

    @property
    def max_time_lost(self) -> int:
        return round(self.frame_rate / 30.0 * self.track_buffer)


class ByteTrack:
    """`update(detections, frame=None) -> Tracks`; `reset()` starts ids at 1 again."""

    name = "bytetrack"
    kalman_mode: Mode = "xyah"

    def __init__(self, config: ByteTrackConfig | None = None) -> None:
        self.config = config or ByteTrackConfig()
        self.kf = KalmanBoxFilter(self.kalman_mode)
        self.reset()

    def reset(self) -> None:
        self.frame_id = 0
        self._next_id = 1
        self.tracked: list[TrackedObject] = []
        self.lost: list[TrackedObject] = []

    # --- hooks for BoT-SORT ------------------------------------------------------------------
    def _features(self, detections: Detections, frame: npt.NDArray[np.uint8] | None) -> Array | None:
        return None

    def _compensate(self, tracks: list[TrackedObject], frame: npt.NDArray[np.uint8] | None) -> None:
        return None

    def _first_stage_cost(self, tracks: list[TrackedObject], boxes: Array, scores: Array, feats: Array | None) -> Array:
        cost = 1.0 - iou_xyxy(self._boxes(tracks), boxes)
        return fuse_score(cost, scores) if self.config.fuse_score else cost

    # --- helpers -----------------------------------------------------------------------------
    def _boxes(self, tracks: list[TrackedObject]) -> Array:
        if not tracks:
            return np.zeros((0, 4))
        return self.kf.to_xyxy(np.stack([t.mean[:4] for t in tracks]))

    def _predict(self, tracks: list[TrackedObject]) -> None:
        if not tracks:
            return
        mean = np.stack([t.mean for t in tracks])
        cov = np.stack([t.cov for t in tracks])
        for i, t in enumerate(tracks):
            if t.state != TrackState.TRACKED:
                mean[i, 7] = 0.0  # a lost box stops growing or shrinking
        mean, cov = self.kf.predict(mean, cov)
        for i, t in enumerate(tracks):
            t.mean, t.cov = mean[i], cov[i]

    def _update(self, t: TrackedObject, box: Array, score: float, cls: int, feat: Array | None) -> None:
        t.mean, t.cov = self.kf.update(t.mean, t.cov, self.kf.from_xyxy(box)[0])
        reactivated = t.state == TrackState.LOST
        t.state = TrackState.TRACKED
        t.is_activated = True
        t.score = score
        t.class_id = cls
        t.frame_id = self.frame_id
        t.tracklet_len = 0 if reactivated else t.tracklet_len + 1
        t.update_feature(feat, self._feature_momentum)

    _feature_momentum = 0.9

    # --- the algorithm -----------------------------------------------------------------------
    def update(self, detections: Detections, frame: npt.NDArray[np.uint8] | None = None) -> Tracks:
        cfg = self.config
        self.frame_id += 1
        boxes = detections.xyxy.astype(np.float64)
        scores = detections.confidence.astype(np.float64)
        classes = detections.class_id
        high = scores >= cfg.track_high_thresh
        low = (scores >= cfg.track_low_thresh) & ~high
        feats_all = self._features(detections, frame) if high.any() else None
        hi_idx = np.flatnonzero(high)
        lo_idx = np.flatnonzero(low)

        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]
        pool = confirmed + self.lost
        self._predict(pool + unconfirmed)
        self._compensate(pool + unconfirmed, frame)

        activated: list[TrackedObject] = []
        refound: list[TrackedObject] = []
        newly_lost: list[TrackedObject] = []
        removed: list[TrackedObject] = []

        # Stage 1: confirmed + lost tracks vs high-score detections.
        hi_feats = feats_all[hi_idx] if feats_all is not None else None
        cost = self._first_stage_cost(pool, boxes[hi_idx], scores[hi_idx], hi_feats)
        matches, u_track, u_det = linear_assignment(cost, cfg.match_thresh)
        for ti, di in matches:
            t, d = pool[ti], hi_idx[di]
            was_lost = t.state == TrackState.LOST
            self._update(t, boxes[d], float(scores[d]), int(classes[d]), None if hi_feats is None else hi_feats[di])
            (refound if was_lost else activated).append(t)

        # Stage 2: tracked (not lost) leftovers vs low-score detections, IoU only.
        leftovers = [pool[i] for i in u_track if pool[i].state == TrackState.TRACKED]
        cost2 = 1.0 - iou_xyxy(self._boxes(leftovers), boxes[lo_idx])
        matches2, u_track2, _ = linear_assignment(cost2, cfg.second_match_thresh)
        for ti, di in matches2:
            t, d = leftovers[ti], lo_idx[di]
            self._update(t, boxes[d], float(scores[d]), int(classes[d]), None)
            activated.append(t)
        for ti in u_track2:
            t = leftovers[ti]
            t.state = TrackState.LOST
            newly_lost.append(t)

        # Unconfirmed tracks (one frame old) vs remaining high detections.
        rest = hi_idx[u_det]
        rest_feats = feats_all[rest] if feats_all is not None else None
        cost3 = 1.0 - iou_xyxy(self._boxes(unconfirmed), boxes[rest])
        if cfg.fuse_score:
            cost3 = fuse_score(cost3, scores[rest])
        matches3, u_unconf, u_det3 = linear_assignment(cost3, cfg.unconfirmed_match_thresh)
        for ti, di in matches3:
            t, d = unconfirmed[ti], rest[di]
            self._update(t, boxes[d], float(scores[d]), int(classes[d]), None if rest_feats is None else rest_feats[di])
            activated.append(t)
        for ti in u_unconf:
            unconfirmed[ti].state = TrackState.REMOVED
            removed.append(unconfirmed[ti])

        # Births: confident unmatched detections start tracks (confirmed at once only on frame 1).
        for di in u_det3:
            d = rest[di]
            if scores[d] < cfg.new_track_thresh:
                continue
            mean, cov = self.kf.initiate(self.kf.from_xyxy(boxes[d])[0])
            t = TrackedObject(mean, cov, float(scores[d]), int(classes[d]), self.frame_id)
            t.track_id = self._next_id
            self._next_id += 1
            t.state = TrackState.TRACKED
            t.frame_id = self.frame_id
            t.is_activated = self.frame_id == 1
            t.update_feature(None if rest_feats is None else rest_feats[di], self._feature_momentum)
            activated.append(t)

        # Deaths: lost for too long.
        for t in self.lost:
            if t.state == TrackState.LOST and self.frame_id - t.frame_id > cfg.max_time_lost:
                t.state = TrackState.REMOVED

        self.tracked = [t for t in self.tracked if t.state == TrackState.TRACKED]
        self.tracked = _merge(self.tracked, activated + refound)
        self.lost = [t for t in self.lost + newly_lost if t.state == TrackState.LOST]
        self.lost = [t for t in self.lost if all(t is not s for s in self.tracked)]
        self._drop_duplicates()
        return self._output()

    def predict(self, frame: npt.NDArray[np.uint8] | None = None) -> Tracks:
        """Advance one frame without detections (a frame the detector skipped): every track coasts on
        its Kalman prediction and keeps its state, so the next `update` matches against it as usual."""
        self.frame_id += 1
        everything = self.tracked + self.lost
        self._predict(everything)
        self._compensate(everything, frame)
        return self._output()

    def _drop_duplicates(self) -> None:
        """A tracked and a lost track on the same box: keep the older one (ByteTrack's rule)."""
        if not self.tracked or not self.lost:
            return
        dist = 1.0 - iou_xyxy(self._boxes(self.tracked), self._boxes(self.lost))
        drop_tracked, drop_lost = set(), set()
        for p, q in zip(*np.nonzero(dist < 0.15), strict=True):
            a, b = self.tracked[p], self.lost[q]
            if self.frame_id - a.start_frame > self.frame_id - b.start_frame:
                drop_lost.add(q)
            else:
                drop_tracked.add(p)
        self.tracked = [t for i, t in enumerate(self.tracked) if i not in drop_tracked]
        self.lost = [t for i, t in enumerate(self.lost) if i not in drop_lost]

    def _output(self) -> Tracks:
        out = [t for t in self.tracked if t.is_activated]
        if not out:
            return Tracks.empty()
        xyxy = self._boxes(out)
        area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
        keep = area >= self.config.min_box_area
        return Tracks(
            xyxy[keep].astype(np.float32),
            np.array([t.track_id for t in out], np.int64)[keep],
            np.array([t.score for t in out], np.float32)[keep],
            np.array([t.class_id for t in out], np.int32)[keep],
        )


def _merge(a: list[TrackedObject], b: list[TrackedObject]) -> list[TrackedObject]:
    seen = {id(t) for t in a}
    return a + [t for t in b if id(t) not in seen]
