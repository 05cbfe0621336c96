"""Routing on real pgRouting vs the networkx oracle, multi-floor answers and bad requests."""

from __future__ import annotations

import random
import statistics
import time
import uuid

import pytest
from indoormaps.db import Database
from indoormaps.errors import InvalidParameter, NotFound, RouteNotFound
from indoormaps.routing import (
    Algorithm,
    OracleRouter,
    PgRouter,
    PointEndpoint,
    Profile,
    RoomEndpoint,
    choose_path,
    parse_endpoint,
)
from indoormaps.streams import current_version

pytestmark = pytest.mark.postgres


async def _rooms(db: Database, version: int) -> dict[str, tuple[uuid.UUID, int, str]]:
    async with db.read() as conn:
        cur = await conn.execute(
            "SELECT u.imdf_id, l.ordinal, b.name, u.name FROM indoor_unit u "
            "JOIN indoor_level l ON l.id = u.level_id JOIN indoor_building b ON b.id = l.building_id "
            "WHERE u.version_id = %s AND u.name IS NOT NULL ORDER BY u.id",
            (version,),
        )
        return {f"{b[:4]}:{name}": (uid, ordinal, b) for uid, ordinal, b, name in await cur.fetchall()}


async def _component_nodes(db: Database, version: int, profile: Profile) -> list[int]:
    oracle = await OracleRouter.load(db, version, profile)
    import networkx as nx

    giant = max(nx.weakly_connected_components(oracle.graph), key=len)
    return sorted(giant)


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(Profile))
async def test_pgrouting_matches_the_oracle_on_random_pairs(db: Database, profile: Profile) -> None:
    version = await current_version(db)
    oracle = await OracleRouter.load(db, version, profile)
    nodes = await _component_nodes(db, version, profile)
    rng = random.Random(f"parity-{profile}")
    sources, targets = rng.sample(nodes, 30), rng.sample(nodes, 30)
    router = PgRouter(db)
    expected = oracle.path_table(sources, targets)
    dijkstra = await router.path_table(version, profile, Algorithm.DIJKSTRA, sources, targets)
    assert len(expected) >= 800  # 900 pairs minus the few identical ones
    assert dijkstra.keys() == expected.keys()
    for key, (cost, path, edges) in expected.items():
        assert dijkstra[key][1] == path, key  # same nodes, not only the same cost
        assert dijkstra[key][2] == edges, key
        assert dijkstra[key][0] == pytest.approx(cost, rel=1e-9)
    # A* runs one search per pair: check it on 8 x 8 of the same pairs.
    astar = await router.path_table(version, profile, Algorithm.ASTAR, sources[:8], targets[:8])
    subset = {k: v for k, v in expected.items() if k[0] in sources[:8] and k[1] in targets[:8]}
    assert astar.keys() == subset.keys()
    for key, (cost, path, _) in subset.items():
        assert astar[key][1] == path, key
        assert astar[key][0] == pytest.approx(cost, rel=1e-9)


@pytest.mark.parametrize("profile", list(Profile))
async def test_room_to_room_routes_match_the_oracle(db: Database, profile: Profile) -> None:
    version = await current_version(db)
    rooms = list((await _rooms(db, version)).values())
    rng = random.Random(f"rooms-{profile}")
    router = PgRouter(db)
    oracle = await OracleRouter.load(db, version, profile)
    checked = 0
    for _ in range(80):
        if checked == 15:
            break
        a, b = rng.sample(rooms, 2)
        anchors = await router.anchors([RoomEndpoint(a[0]), RoomEndpoint(b[0])], profile, version)
        table = oracle.path_table([c.node for c in anchors[0].candidates], [c.node for c in anchors[1].candidates])
        expected = choose_path(anchors[0], anchors[1], table)
        if expected is None:
            with pytest.raises(RouteNotFound):
                await router.route(RoomEndpoint(a[0]), RoomEndpoint(b[0]), profile=profile, version=version)
            continue
        route = await router.route(RoomEndpoint(a[0]), RoomEndpoint(b[0]), profile=profile, version=version)
        assert route.legs[0].nodes == expected.nodes
        assert route.legs[0].cost == pytest.approx(expected.cost, rel=1e-9)
        checked += 1
    assert checked >= 15


async def test_multi_floor_route_with_elevator_when_step_free(db: Database) -> None:
    rooms = await _rooms(db, await current_version(db))
    start, goal = rooms["Acad:Classroom 104"], rooms["Acad:Classroom 404a"]
    assert (start[1], goal[1]) == (0, 3)
    router = PgRouter(db)
    timings = []
    for algorithm in Algorithm:
        for profile in Profile:
            route = await router.route(RoomEndpoint(start[0]), RoomEndpoint(goal[0]), profile=profile,
                                       algorithm=algorithm)  # fmt: skip
            timings.append(route.elapsed_ms)
            actions = [s.action for s in route.steps]
            assert actions[0] == "depart"
            assert actions[-1] == "arrive"
            assert route.total_m > 20
            assert route.duration_s > 30
            levels = [s.level for s in route.segments]
            assert levels[0] == 0
            assert levels[-1] == 3
            if profile is not Profile.DEFAULT:
                assert "stairs" not in actions
                assert "Take the elevator to level 4" in [s.instruction for s in route.steps]
    for _ in range(20):
        started = time.perf_counter()
        await router.route(RoomEndpoint(start[0]), RoomEndpoint(goal[0]), profile=Profile.STEP_FREE)
        timings.append((time.perf_counter() - started) * 1000)
    print(f"\nROUTE multi-floor: p50={statistics.median(timings):.1f} ms max={max(timings):.1f} ms")


async def test_route_between_buildings_with_a_waypoint_outdoors(db: Database) -> None:
    rooms = await _rooms(db, await current_version(db))
    start, goal = rooms["Acad:Classroom 104"], rooms["Main:Auditorium 305"]
    router = PgRouter(db)
    direct = await router.route(RoomEndpoint(start[0]), RoomEndpoint(goal[0]))
    waypoint = PointEndpoint(30.376, 60.0072, None)
    via = await router.route(RoomEndpoint(start[0]), RoomEndpoint(goal[0]), via=[waypoint])
    actions = [s.action for s in via.steps]
    assert actions.count("via") == 1
    assert "exit" in actions
    assert "enter" in actions
    assert via.total_m >= direct.total_m
    assert None in [s.level for s in via.segments]  # an outdoor segment
    body = via.to_dict()
    assert body["segments"][0]["geometry"]["type"] == "LineString"
    flat = sum(s["length_m"] for s in body["segments"])
    vertical = sum(s["distance_m"] for s in body["steps"] if s["action"] in {"stairs", "elevator"})
    assert body["total_m"] == pytest.approx(flat + vertical, abs=1.0)


async def test_step_free_route_fails_cleanly_where_only_stairs_exist(db: Database) -> None:
    rooms = await _rooms(db, await current_version(db))
    router = PgRouter(db)
    upstairs = rooms["Main:Auditorium 305"]  # the main building has stairs but no elevator
    ground = next(v for k, v in rooms.items() if k.startswith("Main") and v[1] == 0)
    assert (await router.route(RoomEndpoint(ground[0]), RoomEndpoint(upstairs[0]))).total_m > 0
    with pytest.raises(RouteNotFound, match="step_free"):
        await router.route(RoomEndpoint(ground[0]), RoomEndpoint(upstairs[0]), profile=Profile.STEP_FREE)


async def test_bad_endpoints_are_typed_errors(db: Database) -> None:
    router = PgRouter(db)
    with pytest.raises(NotFound, match="no room"):
        await router.route(RoomEndpoint(uuid.uuid4()), PointEndpoint(30.38, 60.007, 0))
    with pytest.raises(InvalidParameter, match="no walkable edge"):
        await router.route(PointEndpoint(0.0, 0.0, 0), PointEndpoint(30.38, 60.007, 0))
    with pytest.raises(InvalidParameter, match="room must be a UUID"):
        parse_endpoint({"room": "'; DROP TABLE"}, "from")
    with pytest.raises(InvalidParameter, match="level must be an integer"):
        parse_endpoint({"lon": 30, "lat": 60, "level": "2"}, "from")
    with pytest.raises(InvalidParameter, match="profile"):
        Profile.parse("jetpack")


async def test_reachable_rooms_grow_with_the_budget(db: Database) -> None:
    rooms = await _rooms(db, await current_version(db))
    router = PgRouter(db)
    origin = RoomEndpoint(rooms["Acad:Classroom 104"][0])
    near = await router.reachable_rooms(origin, max_seconds=30)
    far = await router.reachable_rooms(origin, max_seconds=120)
    assert str(origin.room) in {r.room for r in near}
    assert {r.room for r in near} < {r.room for r in far}
    assert all(r.seconds <= 30 for r in near)
    assert [r.seconds for r in far] == sorted(r.seconds for r in far)
