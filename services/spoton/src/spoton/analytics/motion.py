"""Walking speeds from floor trajectories (m/s), smoothed by a moving average over time.

Times are averaged together with positions, so a person walking at constant velocity keeps exactly
that speed after smoothing (the averaged point stays on the line at the averaged time); noise is
averaged out. A gap longer than `max_gap_s` splits a trajectory into separate segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spoton.analytics.zones import Sample, merged_tracks
from spoton.errors import InvalidInputError

__all__ = ["SpeedSummary", "person_speeds", "smoothed_segments"]


@dataclass(frozen=True)
class SpeedSummary:
    person: int
    distance_m: float
    moving_s: float
    mean_mps: float | None  # distance over time, both after smoothing
    median_mps: float | None
    max_mps: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "person": self.person, "distance_m": self.distance_m, "moving_s": self.moving_s,
            "mean_mps": self.mean_mps, "median_mps": self.median_mps, "max_mps": self.max_mps,
        }  # fmt: skip


def _split(track: npt.NDArray[np.float64], max_gap_s: float) -> list[npt.NDArray[np.float64]]:
    cuts = np.flatnonzero(np.diff(track[:, 0]) > max_gap_s) + 1
    return [seg for seg in np.split(track, cuts) if len(seg) >= 2]


def _smooth(seg: npt.NDArray[np.float64], window_s: float) -> npt.NDArray[np.float64]:
    """Centred moving average of (ts, x, y) over `window_s`; the window shrinks symmetrically at the ends."""
    ts = seg[:, 0]
    half = window_s / 2
    out = np.empty_like(seg)
    for i, t in enumerate(ts):
        reach = min(half, t - ts[0], ts[-1] - t)  # symmetric, so a line stays a line at the ends too
        lo, hi = np.searchsorted(ts, t - reach - 1e-9), np.searchsorted(ts, t + reach + 1e-9, side="right")
        out[i] = seg[lo:hi].mean(axis=0)
    return out


def smoothed_segments(
    track: list[tuple[float, float, float]], *, window_s: float, max_gap_s: float
) -> list[npt.NDArray[np.float64]]:
    return [_smooth(seg, window_s) for seg in _split(np.asarray(track, dtype=np.float64), max_gap_s)]


def person_speeds(
    samples: Iterable[Sample], *, window_s: float = 1.0, max_gap_s: float = 2.0
) -> dict[int, SpeedSummary]:
    if window_s < 0 or max_gap_s <= 0:
        raise InvalidInputError("window_s must be >= 0 and max_gap_s > 0")
    out: dict[int, SpeedSummary] = {}
    for person, track in sorted(merged_tracks(samples).items()):
        steps, times = [], []
        for seg in smoothed_segments(track, window_s=window_s, max_gap_s=max_gap_s):
            dt = np.diff(seg[:, 0])
            keep = dt > 1e-9
            steps.append(np.hypot(np.diff(seg[:, 1]), np.diff(seg[:, 2]))[keep])
            times.append(dt[keep])
        dist = np.concatenate(steps) if steps else np.empty(0)
        dts = np.concatenate(times) if times else np.empty(0)
        total_d, total_t = float(dist.sum()), float(dts.sum())
        rates = dist / dts if len(dts) else dist
        out[person] = SpeedSummary(
            person, round(total_d, 3), round(total_t, 3),
            round(total_d / total_t, 3) if total_t > 0 else None,
            round(float(np.median(rates)), 3) if len(rates) else None,
            round(float(rates.max()), 3) if len(rates) else None,
        )  # fmt: skip
    return out
