"""Zone visits, events, dwell and occupancy on hand-made trajectories with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from spoton.analytics import (
    Sample,
    Zone,
    dwell_summary,
    events_from_visits,
    occupancy_series,
    points_in_polygon,
    zone_visits,
)
from spoton.errors import InvalidInputError

ROOM = Zone("room", ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)))
HALL = Zone("hall", ((4.0, 0.0), (10.0, 0.0), (10.0, 4.0), (4.0, 4.0)))


def walk(person: int, xs: list[float], t0: float = 0.0, dt: float = 1.0) -> list[Sample]:
    return [Sample(person, t0 + i * dt, x, 2.0) for i, x in enumerate(xs)]


def test_points_in_polygon_even_odd() -> None:
    l_shape = ((0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3))
    inside = points_in_polygon([(0.5, 0.5), (2, 0.5), (2, 2), (0.5, 2.5), (5, 5)], l_shape)
    assert inside.tolist() == [True, True, False, True, False]


def test_walk_through_two_zones_gives_exact_events_and_dwell() -> None:
    samples = walk(1, [1, 2, 3, 5, 6, 7, 8, 11, 12])  # room t0-2, hall t3-6, out at t7
    visits = zone_visits(samples, [ROOM, HALL])
    assert [(v.zone, v.enter_ts, v.exit_ts) for v in visits] == [("room", 0, 3), ("hall", 3, 7)]
    events = events_from_visits(visits)
    assert [(e.zone, e.kind, e.ts) for e in events] == [
        ("room", "enter", 0), ("hall", "enter", 3), ("room", "exit", 3), ("hall", "exit", 7),
    ]  # fmt: skip
    summary = dwell_summary(visits)
    assert summary["room"]["mean_s"] == 3.0
    assert summary["hall"]["max_s"] == 4.0


def test_two_cameras_seeing_one_person_count_once() -> None:
    a = walk(1, [1, 2, 3])
    b = [Sample(s.person, s.ts, s.x + 0.1, s.y) for s in a]  # a second view of the same person
    visits = zone_visits(a + b, [ROOM])
    assert len(visits) == 1
    assert visits[0].exit_ts is None
    series = occupancy_series(a + b, [ROOM], bucket_s=10)
    assert series["room"] == [(0.0, 1)]


def test_a_long_gap_closes_the_visit_at_the_last_sighting() -> None:
    samples = walk(1, [1, 1, 1]) + walk(1, [1, 1], t0=20)
    visits = zone_visits(samples, [ROOM], max_gap_s=5)
    assert [(v.enter_ts, v.exit_ts) for v in visits] == [(0, 2), (20, None)]


def test_occupancy_takes_the_peak_of_each_bucket() -> None:
    samples = walk(1, [1, 1, 1, 1]) + walk(2, [2, 2], t0=1) + walk(3, [9, 9, 9, 9])
    series = occupancy_series(samples, [ROOM, HALL], bucket_s=2)
    assert series["room"] == [(0.0, 2), (2.0, 2)]
    assert series["hall"] == [(0.0, 1), (2.0, 1)]
    with pytest.raises(InvalidInputError):
        occupancy_series(samples, [ROOM], bucket_s=0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "polygon": [[0, 0], [1, 0], [1, 1]]}, "non-empty"),
        ({"name": "z", "polygon": [[0, 0], [1, 0]]}, "3 to 256"),
        ({"name": "z", "polygon": [[0, 0], [1, 1], [2, 2]]}, "no area"),
        ({"name": "z", "polygon": "DROP TABLE zones"}, "pairs"),
        ({"name": "z", "polygon": [[0, 0], [1, float("nan")], [1, 1]]}, "finite"),
    ],
)
def test_bad_zones_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Zone.from_dict(data)


def test_zone_round_trip() -> None:
    assert Zone.from_dict(ROOM.to_dict()) == ROOM
    assert np.isclose(len(ROOM.polygon), 4)
