"""Tracker behaviour on synthetic box sequences with known identities."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from spoton.detection import Detections
from spoton.errors import UnknownModelError
from spoton.tracking import (
    BoTSORT,
    BoTSORTConfig,
    ByteTrack,
    ByteTrackConfig,
    KalmanBoxFilter,
    Tracker,
    create_tracker,
    iou_xyxy,
    linear_assignment,
)


def box(cx: float, cy: float, w: float = 40, h: float = 100) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def run(tracker: Tracker, frames: list[list[tuple[int, list[float], float]]]) -> dict[int, list[int | None]]:
    """Feed (gt_id, xyxy, score) lists; return per gt id the track id it got in each frame."""
    assigned: dict[int, list[int | None]] = defaultdict(list)
    for dets in frames:
        d = Detections.from_xyxy([b for _, b, _ in dets] or np.zeros((0, 4)), [s for _, _, s in dets] or 1.0)
        out = tracker.update(d)
        seen = {}
        if len(out) and dets:
            iou = iou_xyxy([b for _, b, _ in dets], out.xyxy)
            for k, (gid, _, _) in enumerate(dets):
                j = int(iou[k].argmax())
                if iou[k, j] > 0.5:
                    seen[gid] = int(out.track_id[j])
        for gid in {g for fr in frames for g, _, _ in fr}:
            assigned[gid].append(seen.get(gid))
    return assigned


TRACKERS = [
    pytest.param(lambda: ByteTrack(), id="bytetrack"),
    pytest.param(lambda: BoTSORT(BoTSORTConfig(track_high_thresh=0.5, new_track_thresh=0.6)), id="botsort"),
]


@pytest.mark.parametrize("make", TRACKERS)
def test_crossing_targets_keep_their_ids(make: object) -> None:
    """Two people walk through each other (full overlap mid-way); constant velocity carries ids."""
    frames = [[(1, box(100 + 6 * t, 200), 0.9), (2, box(340 - 6 * t, 205), 0.9)] for t in range(41)]
    ids = run(make(), frames)  # type: ignore[operator]
    first = {g: next(i for i in v if i is not None) for g, v in ids.items()}
    assert first[1] != first[2]
    for g in (1, 2):
        assert {i for i in ids[g] if i is not None} == {first[g]}, ids[g]
        assert ids[g][-1] == first[g]


@pytest.mark.parametrize("make", TRACKERS)
def test_id_survives_an_occlusion_gap(make: object) -> None:
    """No detections for 12 frames (well inside the 30-frame buffer): same id when seen again."""
    frames = [[(1, box(100 + 5 * t, 200), 0.9)] if not 20 <= t < 32 else [] for t in range(50)]
    ids = run(make(), frames)  # type: ignore[operator]
    before, after = ids[1][19], ids[1][49]
    assert before is not None
    assert after == before
    assert ids[1][25] is None  # lost tracks are not reported


def test_a_gap_longer_than_the_buffer_starts_a_new_id() -> None:
    tracker = ByteTrack(ByteTrackConfig(track_buffer=10))
    frames = [[(1, box(100 + 2 * t, 200), 0.9)] if not 10 <= t < 30 else [] for t in range(40)]
    ids = run(tracker, frames)
    assert ids[1][9] is not None
    assert ids[1][39] is not None
    assert ids[1][39] != ids[1][9]


def test_low_score_detections_keep_a_track_alive() -> None:
    """Stage 2: during partial occlusion the detector is unsure (0.3) but the track continues."""
    frames = [[(1, box(100 + 4 * t, 200), 0.3 if 10 <= t < 40 else 0.9)] for t in range(50)]
    ids = run(ByteTrack(ByteTrackConfig(track_buffer=5)), frames)
    assert len({i for i in ids[1]}) == 1
    assert None not in ids[1]


def test_low_score_detections_alone_never_start_tracks() -> None:
    frames = [[(1, box(100 + 4 * t, 200), 0.3)] for t in range(10)]
    ids = run(ByteTrack(), frames)
    assert ids[1] == [None] * 10


def test_new_tracks_are_confirmed_on_their_second_hit() -> None:
    frames = [[(1, box(100, 200), 0.9)]] + [[(1, box(100, 200), 0.9), (2, box(400, 200), 0.9)] for _ in range(3)]
    ids = run(ByteTrack(), frames)
    assert ids[1][0] == 1  # first frame: confirmed at once
    assert ids[2] == [None, None, 2, 2]  # absent, first hit (unconfirmed), confirmed


def test_reset_restarts_ids_and_state() -> None:
    tracker = ByteTrack()
    frames = [[(1, box(100, 200), 0.9), (2, box(300, 200), 0.9)] for _ in range(3)]
    run(tracker, frames)
    tracker.reset()
    assert tracker.frame_id == 0
    ids = run(tracker, frames[:1])
    assert sorted(i for v in ids.values() for i in v if i) == [1, 2]


def test_empty_input_returns_empty_tracks() -> None:
    out = ByteTrack().update(Detections.empty())
    assert len(out) == 0
    assert out.xyxy.shape == (0, 4)


def test_kalman_learns_constant_velocity() -> None:
    for mode in ("xyah", "xywh"):
        kf = KalmanBoxFilter(mode)  # type: ignore[arg-type]
        mean, cov = kf.initiate(kf.from_xyxy(box(0, 0))[0])
        for t in range(1, 30):
            m, c = kf.predict(mean[None], cov[None])
            mean, cov = kf.update(m[0], c[0], kf.from_xyxy(box(3 * t, 2 * t))[0])
        assert mean[4] == pytest.approx(3, abs=0.05)
        assert mean[5] == pytest.approx(2, abs=0.05)
        np.testing.assert_allclose(kf.to_xyxy(mean[:4])[0], box(87, 58), atol=0.5)


def test_linear_assignment_forbids_pairs_above_threshold() -> None:
    cost = np.array([[0.1, 0.9], [0.95, 0.97]])
    matches, u_rows, u_cols = linear_assignment(cost, 0.8)
    assert matches.tolist() == [[0, 0]]
    assert u_rows.tolist() == [1]
    assert u_cols.tolist() == [1]


def test_tracker_factory() -> None:
    assert create_tracker("ByteTrack").name == "bytetrack"
    assert create_tracker("botsort").name == "botsort"
    assert isinstance(create_tracker("botsort"), Tracker)
    with pytest.raises(UnknownModelError, match="bytetrack, botsort"):
        create_tracker("deepsort")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="track_low_thresh"):
        ByteTrackConfig(track_low_thresh=0.7, track_high_thresh=0.5)
