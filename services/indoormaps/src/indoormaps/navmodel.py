"""The walking model behind edge lengths and costs: one place for every constant.

Lengths are metres on the ellipsoid (PostGIS geography) plus the climb of vertical edges; costs
are seconds. A tiny deterministic epsilon per edge id is added to every cost so that no two
different paths cost exactly the same: pgRouting and the Python oracle then agree on the path,
not only on its cost.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ASTAR_FACTOR",
    "ELEVATOR_SPEED_MPS",
    "ELEVATOR_WAIT_S",
    "EPSILON_SQL",
    "LEVEL_HEIGHT_M",
    "MAX_DOOR_LINK_M",
    "RAMP_SPEED_MPS",
    "STAIRS_SPEED_MPS",
    "STAIR_RUN_FACTOR",
    "WALK_SPEED_MPS",
    "epsilon",
]

WALK_SPEED_MPS: Final = 1.3
STAIRS_SPEED_MPS: Final = 0.5  # along the flight
ESCALATOR_SPEED_MPS: Final = 0.75
RAMP_SPEED_MPS: Final = 1.0
LEVEL_HEIGHT_M: Final = 3.6
STAIR_RUN_FACTOR: Final = 2.0  # metres walked on a flight per metre climbed (~30° stairs)
ELEVATOR_WAIT_S: Final = 30.0
ELEVATOR_SPEED_MPS: Final = 1.0
MAX_DOOR_LINK_M: Final = 15.0  # a door further than this from the path network stays unlinked

# A* heuristic: straight-line metres in the local metric CRS x seconds per metre at the fastest
# horizontal speed, shrunk 2 % so projection scale error can never make it overestimate.
ASTAR_FACTOR: Final = 0.98 / WALK_SPEED_MPS

_EPS_MOD: Final = 1_000_003
_EPS_MUL: Final = 2_654_435_761
_EPS_UNIT: Final = 1e-9  # at most ~1 ms per edge: far below any real cost difference

EPSILON_SQL: Final = f"mod(mod({{id}}, {_EPS_MOD}) * {_EPS_MUL}, {_EPS_MOD}) * {_EPS_UNIT}"


def epsilon(edge_id: int) -> float:
    """The same epsilon as EPSILON_SQL, for tests."""
    return (((edge_id % _EPS_MOD) * _EPS_MUL) % _EPS_MOD) * _EPS_UNIT
