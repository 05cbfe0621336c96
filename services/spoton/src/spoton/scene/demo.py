"""A ready-made scene: three rooms along a corridor, four cameras.

Room A (x 2-8 m) is watched by `cam_a1` (from the south) and `cam_a2` (from the west): overlapping
views. Room B (x 13-19 m) has `cam_b`, room C (x 23-29 m) has `cam_c`; neither overlaps another.
Rooms are joined by corridors at y = 4.25 m, a few seconds' walk apart: the topology is A - B - C.
"""

from __future__ import annotations

import numpy as np

from spoton.scene.camera import PinholeCamera
from spoton.scene.figure import Appearance
from spoton.scene.scene import FloorPlan, SyntheticScene
from spoton.scene.walkers import Walker

__all__ = ["COVERAGE", "DEMO_TOPOLOGY", "DEMO_TRIPWIRES", "DOORS", "PALETTE", "ROOMS", "demo_cameras", "demo_scene"]

# Walkable box per room: (x_min, x_max, y_min, y_max) in metres.
ROOMS: dict[str, tuple[float, float, float, float]] = {
    "A": (2.0, 8.0, 2.0, 6.5),
    "B": (13.0, 19.0, 2.0, 6.5),
    "C": (23.0, 29.0, 2.0, 6.5),
}
_ORDER = ("A", "B", "C")
CORRIDOR_Y = 4.25
# (west door, east door) x of each room on the corridor line.
DOORS: dict[str, tuple[float, float]] = {r: (ROOMS[r][0], ROOMS[r][1]) for r in ROOMS}

# What each camera can see (walls hide the rest): cam_a2 looks down the corridor but not past room A.
COVERAGE: dict[str, tuple[float, float, float, float]] = {
    "cam_a1": (0.0, 10.5, 0.0, 10.0),
    "cam_a2": (0.0, 10.5, 0.0, 10.0),
    "cam_b": (10.5, 21.0, 0.0, 10.0),
    "cam_c": (21.0, 31.0, 0.0, 10.0),
}

# Tripwires on the doors to the corridor (forward = walking east: a is south, b north).
DEMO_TRIPWIRES: tuple[dict[str, object], ...] = (
    {"name": "door_A_east", "a": [8.0, 2.0], "b": [8.0, 6.5]},
    {"name": "door_B_west", "a": [13.0, 2.0], "b": [13.0, 6.5]},
    {"name": "door_C_west", "a": [23.0, 2.0], "b": [23.0, 6.5]},
)
# Room A's two cameras overlap; walking between rooms takes a second or more (measured 1.1-5.3 s on
# the scene), and rooms A and C are never linked directly (one passes room B's camera on the way).
DEMO_TOPOLOGY: dict[str, object] = {
    "overlaps": [["cam_a1", "cam_a2"]],
    "links": [
        {"cameras": ["cam_a1", "cam_b"], "min_s": 0.5, "max_s": 30.0},
        {"cameras": ["cam_a2", "cam_b"], "min_s": 0.5, "max_s": 30.0},
        {"cameras": ["cam_b", "cam_c"], "min_s": 0.5, "max_s": 30.0},
    ],
}

# Distinct shirt/trouser colours (BGR) so colour re-id has something to work with.
PALETTE: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((40, 40, 200), (60, 40, 20)),
    ((200, 120, 30), (30, 30, 30)),
    ((40, 180, 60), (90, 60, 40)),
    ((30, 200, 220), (50, 50, 110)),
    ((170, 50, 170), (40, 40, 40)),
    ((235, 235, 235), (110, 70, 30)),
    ((20, 100, 240), (20, 20, 60)),
    ((120, 200, 160), (70, 70, 70)),
)


def demo_cameras(width: int = 640, height: int = 360) -> list[PinholeCamera]:
    f = 0.875 * width
    return [
        PinholeCamera("cam_a1", (5.0, -2.5, 2.6), 90.0, 14.0, f, width, height),
        PinholeCamera("cam_a2", (-2.5, 4.25, 2.6), 0.0, 14.0, f, width, height),
        PinholeCamera("cam_b", (16.0, -2.5, 2.6), 90.0, 14.0, f, width, height),
        PinholeCamera("cam_c", (26.0, -2.5, 2.6), 90.0, 14.0, f, width, height),
    ]


def _route(rng: np.random.Generator, start: str, legs: int) -> list[tuple[float, float]]:
    def spot(room: str) -> tuple[float, float]:
        x0, x1, y0, y1 = ROOMS[room]
        return (float(rng.uniform(x0 + 0.5, x1 - 0.5)), float(rng.uniform(y0, y1)))

    room = start
    points = [spot(room)]
    for _ in range(legs):
        i = _ORDER.index(room)
        choices = [j for j in (i - 1, i, i + 1) if 0 <= j < len(_ORDER)]
        nxt = _ORDER[int(rng.choice(choices))]
        if nxt != room:
            east = _ORDER.index(nxt) > i
            points.append((DOORS[room][1 if east else 0], CORRIDOR_Y))
            points.append((DOORS[nxt][0 if east else 1], CORRIDOR_Y))
            room = nxt
        points.append(spot(room))
    return points


def demo_scene(
    *,
    num_people: int = 6,
    num_frames: int = 200,
    fps: float = 10.0,
    width: int = 640,
    height: int = 360,
    seed: int = 0,
    legs: int = 4,
) -> SyntheticScene:
    """People wander within and between the rooms; fully deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    walkers = []
    for pid in range(1, num_people + 1):
        shirt, trousers = PALETTE[(pid - 1) % len(PALETTE)]
        walkers.append(
            Walker(
                person_id=pid,
                waypoints=tuple(_route(rng, _ORDER[(pid - 1) % 3], legs)),
                speed_mps=float(rng.uniform(1.0, 1.4)),
                height_m=float(rng.uniform(1.6, 1.9)),
                appearance=Appearance(shirt, trousers),
                start_s=float(rng.uniform(0.0, 2.0)),
            )
        )
    cams = demo_cameras(width, height)
    return SyntheticScene(
        FloorPlan(31.0, 10.0), cams, walkers, fps=fps, num_frames=num_frames, seed=seed, coverage=COVERAGE
    )
