"""Tripwires, speeds, journeys, transitions and heatmaps on hand-made trajectories with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from spoton.analytics import (
    Sample,
    Sighting,
    Tripwire,
    Visit,
    Zone,
    floor_heatmap,
    person_journeys,
    person_speeds,
    tripwire_counts,
    tripwire_crossings,
    zone_transitions,
    zone_visits,
)
from spoton.errors import InvalidInputError

# A door at x = 5 between y = 0 and y = 4; looking from a to b (north), east is the right side.
DOOR = Tripwire("door", (5.0, 0.0), (5.0, 4.0))


def line(person: int, x0: float, x1: float, *, y: float = 2.0, t0: float = 0.0, n: int = 11, dt: float = 0.5):
    return [Sample(person, t0 + i * dt, x0 + (x1 - x0) * i / (n - 1), y) for i in range(n)]


def test_crossings_are_directed_and_time_interpolated() -> None:
    east = line(1, 0.0, 10.0)  # crosses x=5 at t=2.5
    west = line(2, 9.0, 1.0, t0=10.0, n=9)  # x = 9, 8, ... crosses x=5 at t=10 + 4*0.5 = 12.0
    beside = line(3, 0.0, 10.0, y=6.0)  # passes north of the door's end: no crossing
    crossings = tripwire_crossings(east + west + beside, [DOOR])
    assert [(c.person, c.direction, c.ts) for c in crossings] == [(1, "forward", 2.5), (2, "backward", 12.0)]
    assert tripwire_counts(crossings, [DOOR]) == {"door": {"forward": 1, "backward": 1, "total": 2, "persons": 2}}


def test_two_cameras_on_one_person_count_one_crossing() -> None:
    a = line(7, 0.0, 10.0)
    b = [Sample(s.person, s.ts, s.x + 0.04, s.y - 0.1) for s in a]  # the same person through a second camera
    crossings = tripwire_crossings(a + b, [DOOR])
    assert [(c.person, c.direction) for c in crossings] == [(7, "forward")]


def test_jitter_on_the_line_is_not_a_crossing_but_a_real_return_is() -> None:
    jitter = [Sample(1, t, x, 2.0) for t, x in enumerate([4.0, 4.98, 5.03, 4.97, 5.02, 4.99, 4.0])]
    assert tripwire_crossings(jitter, [DOOR]) == []
    back_and_forth = [Sample(2, t, x, 2.0) for t, x in enumerate([4.0, 6.0, 4.0, 6.0])]
    got = [c.direction for c in tripwire_crossings(back_and_forth, [DOOR])]
    assert got == ["forward", "backward", "forward"]


def test_a_gap_forgets_the_side() -> None:
    samples = [Sample(1, 0.0, 4.0, 2.0), Sample(1, 30.0, 6.0, 2.0)]  # unseen for 30 s: no evidence of a crossing
    assert tripwire_crossings(samples, [DOOR], max_gap_s=2.0) == []


def test_tripwire_validation() -> None:
    with pytest.raises(InvalidInputError, match="distinct"):
        Tripwire.from_dict({"name": "w", "a": [1, 1], "b": [1, 1]})
    with pytest.raises(InvalidInputError, match=r"\[x, y\]"):
        Tripwire.from_dict({"name": "w", "a": [1], "b": [2, 2]})
    assert Tripwire.from_dict(DOOR.to_dict()) == DOOR


def test_constant_speed_is_exact_after_smoothing_and_noise_is_smoothed() -> None:
    walk = [Sample(1, i * 0.1, 1.2 * i * 0.1, 3.0) for i in range(101)]  # 1.2 m/s for 10 s
    got = person_speeds(walk, window_s=1.0)[1]
    assert got.mean_mps == 1.2
    assert got.median_mps == 1.2
    assert got.max_mps == 1.2
    assert got.distance_m == 12.0
    assert got.moving_s == 10.0
    rng = np.random.default_rng(3)
    noisy = [Sample(2, s.ts, s.x + rng.normal(0, 0.05), s.y + rng.normal(0, 0.05)) for s in walk]
    raw, smooth = person_speeds(noisy, window_s=0.0)[2], person_speeds(noisy, window_s=1.0)[2]
    assert raw.mean_mps is not None
    assert smooth.mean_mps is not None
    assert raw.mean_mps > 1.35  # unsmoothed jitter adds distance (measured 1.42)
    assert abs(smooth.mean_mps - 1.2) < 0.1


def test_speeds_ignore_the_time_spent_unseen() -> None:
    first = [Sample(1, i * 0.5, i * 0.5, 0.0) for i in range(5)]  # 1 m/s for 2 s
    later = [Sample(1, 60 + i * 0.5, 50 + i, 0.0) for i in range(5)]  # 2 m/s for 2 s, after a long gap
    got = person_speeds(first + later, window_s=0.0)[1]
    assert (got.distance_m, got.moving_s, got.mean_mps, got.max_mps) == (6.0, 4.0, 1.5, 2.0)


def test_journeys_order_camera_and_zone_visits() -> None:
    sightings = [Sighting(1, "cam_a", t) for t in (0.0, 0.5, 1.0)]
    sightings += [Sighting(1, "cam_b", t) for t in (4.0, 4.5)]
    sightings += [Sighting(1, "cam_a", t) for t in (9.0, 9.5)]  # back in camera a after a gap
    sightings += [Sighting(2, "cam_b", 3.0)]
    visits = [Visit(1, "room_b", 4.0, 4.5), Visit(1, "room_a", 0.0, 1.0)]
    journeys = person_journeys(sightings, visits, max_gap_s=2.0)
    assert journeys[1].to_dict() == {
        "person": 1,
        "first_seen_s": 0.0,
        "last_seen_s": 9.5,
        "camera_path": ["cam_a", "cam_b", "cam_a"],
        "cameras": [
            {"camera": "cam_a", "start_s": 0.0, "end_s": 1.0},
            {"camera": "cam_b", "start_s": 4.0, "end_s": 4.5},
            {"camera": "cam_a", "start_s": 9.0, "end_s": 9.5},
        ],
        "zones": [{"zone": "room_a", "enter_s": 0.0, "exit_s": 1.0}, {"zone": "room_b", "enter_s": 4.0, "exit_s": 4.5}],
    }
    assert journeys[2].camera_path == ["cam_b"]


def test_transition_matrix_counts_next_visits() -> None:
    a = Zone("a", ((0, 0), (4, 0), (4, 4), (0, 4)))
    b = Zone("b", ((6, 0), (10, 0), (10, 4), (6, 4)))
    # person 1: a -> b -> a; person 2: a -> b; person 3 stays in a (no transition)
    xs1 = [1, 2, 5, 7, 8, 5, 2]
    xs2 = [2, 3, 5, 5, 7]
    samples = [Sample(1, t, x, 2.0) for t, x in enumerate(xs1)] + [Sample(2, t, x, 2.0) for t, x in enumerate(xs2)]
    samples += [Sample(3, t, 1.0, 1.0) for t in range(5)]
    matrix = zone_transitions(zone_visits(samples, [a, b]), ["a", "b"])
    assert matrix.counts == [[0, 2], [1, 0]]
    # a->b: person 1 left a at t=2, entered b at t=3 (1 s); person 2 left at 2, entered at 4 (2 s)
    assert matrix.mean_transit_s == [[None, 1.5], [1.0, None]]
    assert matrix.to_dict()["transitions"] == [
        {"from": "a", "to": "b", "count": 2, "mean_transit_s": 1.5},
        {"from": "b", "to": "a", "count": 1, "mean_transit_s": 1.0},
    ]


def test_heatmap_counts_each_person_once_per_moment() -> None:
    samples = [Sample(1, 0.0, 0.2, 0.2), Sample(1, 0.0, 0.3, 0.3), Sample(1, 1.0, 1.2, 0.2), Sample(2, 0.0, 1.4, 0.4)]
    heat = floor_heatmap(samples, cell_m=1.0, extent=(0.0, 2.0, 0.0, 1.0))
    assert heat.counts.tolist() == [[1, 2, 0], [0, 0, 0]]
    assert heat.image(scale=4).shape == (8, 12, 3)
    with pytest.raises(InvalidInputError, match="too large"):
        floor_heatmap(samples, cell_m=0.001, extent=(0.0, 1000.0, 0.0, 1000.0))
