"""Camera topology: which views overlap and how long a walk between non-overlapping views takes.

A cross-camera link is plausible only if the time between leaving camera X and appearing in camera
Y fits the (min_s, max_s) window of a link between them. Overlapping views need no walk (window
0..`overlap_max_gap_s`). Cameras with no link are not directly reachable: an identity never jumps
between them without being seen on the way. The same camera reappearing is governed by the
linker's own `max_gap_s`, not by the topology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spoton.errors import InvalidInputError

__all__ = ["CameraTopology", "TransitWindow"]

MAX_WINDOW_S = 86_400.0


@dataclass(frozen=True)
class TransitWindow:
    min_s: float
    max_s: float

    def contains(self, gap_s: float) -> bool:
        return self.min_s <= gap_s <= self.max_s


@dataclass(frozen=True)
class CameraTopology:
    windows: dict[frozenset[str], TransitWindow] = field(default_factory=dict)  # unordered camera pairs
    overlaps: frozenset[frozenset[str]] = frozenset()
    overlap_max_gap_s: float = 2.0

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CameraTopology:
        """`{"overlaps": [[a, b], ...], "links": [{"cameras": [a, b], "min_s": 2, "max_s": 30}], ...}`."""
        if not isinstance(data, dict):
            raise InvalidInputError("topology must be an object with 'overlaps' and 'links'")
        unknown = set(data) - {"overlaps", "links", "overlap_max_gap_s"}
        if unknown:
            raise InvalidInputError(f"topology has unknown keys: {', '.join(sorted(unknown))}")
        overlaps = set()
        for pair in data.get("overlaps") or []:  # type: ignore[attr-defined]
            overlaps.add(_pair(pair, "overlaps"))
        windows: dict[frozenset[str], TransitWindow] = {}
        for link in data.get("links") or []:  # type: ignore[attr-defined]
            if not isinstance(link, dict):
                raise InvalidInputError("each topology link must be an object with cameras, min_s, max_s")
            cams = _pair(link.get("cameras"), "links")
            try:
                lo, hi = float(link.get("min_s", 0.0)), float(link["max_s"])
            except (KeyError, TypeError, ValueError):
                raise InvalidInputError(f"link {sorted(cams)}: min_s and max_s must be numbers of seconds") from None
            if not (np.isfinite([lo, hi]).all() and 0 <= lo <= hi <= MAX_WINDOW_S):
                raise InvalidInputError(f"link {sorted(cams)}: need 0 <= min_s <= max_s <= {MAX_WINDOW_S:.0f}")
            if cams in windows:
                raise InvalidInputError(f"link {sorted(cams)} is given twice")
            windows[cams] = TransitWindow(lo, hi)
        gap = data.get("overlap_max_gap_s", 2.0)
        if not isinstance(gap, int | float) or not 0 <= gap <= 60:
            raise InvalidInputError("overlap_max_gap_s must be a number of seconds in 0..60")
        return cls(windows, frozenset(overlaps), float(gap))

    def to_dict(self) -> dict[str, object]:
        return {
            "overlaps": sorted(sorted(p) for p in self.overlaps),
            "links": [
                {"cameras": sorted(p), "min_s": w.min_s, "max_s": w.max_s}
                for p, w in sorted(self.windows.items(), key=lambda kv: sorted(kv[0]))
            ],
            "overlap_max_gap_s": self.overlap_max_gap_s,
        }

    @property
    def cameras(self) -> set[str]:
        return {c for p in (*self.windows, *self.overlaps) for c in p}

    def overlapping(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.overlaps

    def plausible(self, last_camera: str, new_camera: str, gap_s: float) -> bool:
        """`allows`, except that a camera the topology does not name is not constrained."""
        known = self.cameras
        if last_camera not in known or new_camera not in known:
            return True
        return self.allows(last_camera, new_camera, gap_s)

    def allows(self, last_camera: str, new_camera: str, gap_s: float) -> bool:
        """Could one person last seen in `last_camera` appear in `new_camera` `gap_s` seconds later?"""
        if last_camera == new_camera:
            return True
        pair = frozenset((last_camera, new_camera))
        if pair in self.overlaps and -1e-9 <= gap_s <= self.overlap_max_gap_s:
            return True
        window = self.windows.get(pair)
        return window is not None and window.contains(gap_s)


def _pair(value: object, where: str) -> frozenset[str]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(c, str) and 0 < len(c) <= 100 for c in value)
        or value[0] == value[1]
    ):
        raise InvalidInputError(f"topology {where}: each entry names two different cameras; got {value!r}")
    return frozenset(value)
