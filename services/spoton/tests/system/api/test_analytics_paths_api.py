"""Analytics endpoints over hand-made stored trajectories: exact tripwire counts, journeys, speeds, transitions."""

from __future__ import annotations

from spoton.db import Detection, GlobalPerson, Task

ROOMS = [
    {"name": "west", "polygon": [[0, 0], [4, 0], [4, 4], [0, 4]]},
    {"name": "east", "polygon": [[6, 0], [10, 0], [10, 4], [6, 4]]},
]
DOOR = {"name": "door", "a": [5, 0], "b": [5, 4]}  # forward = walking east


async def _environment(service, **extra) -> int:
    body = {"name": "hall", "zones": ROOMS, "tripwires": [DOOR]} | extra
    r = await service.client.post(f"{service.prefix}/environments", json=body, headers=service.auth("operator"))
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def _store(service, env_id: int) -> tuple[str, dict[str, int]]:
    """Person `walker` walks east at 1 m/s (x = 1..9, seen by cam_w then cam_e, both at x = 5), then back west.

    Person `stayer` stands in the west room.
    """
    task_id = "a" * 32
    async with service.state.db.session() as session:
        session.add(Task(id=task_id, environment_id=env_id, source="synthetic", status="completed", created_by="t"))
        await session.flush()  # no ORM relationships: insert the task before rows that point at it
        walker = GlobalPerson(task_id=task_id, label=1, first_seen_s=0.0, last_seen_s=20.0)
        stayer = GlobalPerson(task_id=task_id, label=2, first_seen_s=0.0, last_seen_s=4.0)
        session.add_all([walker, stayer])
        await session.flush()
        rows = []
        for step in range(17):  # x = 1, 1.5, ... 9 at t = 0, 0.5, ... 8
            t, x = step * 0.5, 1 + step * 0.5
            cameras = ["cam_w"] if x < 5 else ["cam_e"] if x > 5 else ["cam_w", "cam_e"]
            rows += [(walker.id, cam, t, x) for cam in cameras]
        for step in range(17):  # back west: x = 9 .. 1 at t = 12 .. 20
            rows.append((walker.id, "cam_w" if 1 + step * 0.5 > 5 else "cam_e", 12 + step * 0.5, 9 - step * 0.5))
        rows += [(stayer.id, "cam_w", step * 0.5, 2.0) for step in range(9)]
        for pid, cam, t, x in rows:
            session.add(
                Detection(
                    task_id=task_id, camera=cam, frame=int(t * 2) + 1, ts=t, track_id=pid * 10 + (cam == "cam_e"),
                    global_person_id=pid, x1=0, y1=0, x2=10, y2=20, confidence=0.9, floor_x=x, floor_y=2.0,
                )
            )  # fmt: skip
        await session.commit()
        return task_id, {"walker": walker.id, "stayer": stayer.id}


async def test_tripwires_journeys_speeds_transitions_and_heatmap_have_exact_values(service) -> None:
    env_id = await _environment(service)
    task_id, ids = await _store(service, env_id)
    base, viewer = f"{service.prefix}/analytics/tasks/{task_id}", service.auth("viewer")

    wires = (await service.client.get(f"{base}/tripwires", headers=viewer)).json()
    # Seen by two cameras at the door, the walker still crosses once each way.
    assert wires["counts"] == {"door": {"forward": 1, "backward": 1, "total": 2, "persons": 1}}
    assert [(c["direction"], c["ts"]) for c in wires["crossings"]] == [("forward", 4.0), ("backward", 16.0)]

    speeds = {p["person"]: p for p in (await service.client.get(f"{base}/speeds", headers=viewer)).json()["persons"]}
    assert speeds[ids["walker"]]["mean_mps"] == 1.0
    assert speeds[ids["walker"]]["distance_m"] == 16.0  # the 4 s unseen in the east are not walking
    assert speeds[ids["stayer"]]["mean_mps"] == 0.0

    transitions = (await service.client.get(f"{base}/transitions", headers=viewer)).json()
    assert transitions["zones"] == ["west", "east"]
    # Unseen for 4 s (> max_gap_s 2) in the east room: that visit closes and a new one starts (diagonal).
    assert transitions["matrix"] == [[0, 1], [1, 1]]
    assert transitions["transitions"][0] == {"from": "west", "to": "east", "count": 1, "mean_transit_s": 2.0}
    patient = (await service.client.get(f"{base}/transitions", params={"max_gap_s": 5}, headers=viewer)).json()
    assert patient["matrix"] == [[0, 1], [1, 0]]

    journeys = {
        p["person"]: p for p in (await service.client.get(f"{base}/journeys", headers=viewer)).json()["persons"]
    }
    walker = journeys[ids["walker"]]
    assert walker["camera_path"] == ["cam_w", "cam_e", "cam_w"]
    assert walker["cameras"][0] == {"camera": "cam_w", "start_s": 0.0, "end_s": 4.0}
    assert [z["zone"] for z in walker["zones"]] == ["west", "east", "east", "west"]
    assert journeys[ids["stayer"]]["camera_path"] == ["cam_w"]

    heat = (await service.client.get(f"{base}/heatmap", params={"cell_m": 1.0}, headers=viewer)).json()
    assert heat["origin"] == [1.0, 2.0]
    assert sum(map(sum, heat["counts"])) == 17 + 17 + 9  # one per person and moment, however many cameras


async def test_environment_tripwires_and_topology_are_validated(service) -> None:
    p, op = service.prefix, service.auth("operator")
    bad_wire = {"name": "w", "tripwires": [{"name": "x", "a": [1, 1], "b": [1, 1]}]}
    r = await service.client.post(f"{p}/environments", json=bad_wire, headers=op)
    assert r.status_code == 422
    assert "distinct" in r.json()["detail"]
    bad_topology = {"name": "t", "topology": {"links": [{"cameras": ["a", "b"], "min_s": 9, "max_s": 3}]}}
    r = await service.client.post(f"{p}/environments", json=bad_topology, headers=op)
    assert r.status_code == 422
    assert "min_s <= max_s" in r.json()["detail"]
    topology = {"overlaps": [["a", "b"]], "links": [{"cameras": ["b", "c"], "min_s": 1, "max_s": 20}]}
    env_id = await _environment(service, topology=topology)
    got = (await service.client.get(f"{p}/environments/{env_id}", headers=service.auth("viewer"))).json()
    assert got["tripwires"] == [DOOR]
    assert got["topology"]["links"] == [{"cameras": ["b", "c"], "min_s": 1.0, "max_s": 20.0}]
    cleared = await service.client.patch(f"{p}/environments/{env_id}", json={"topology": None}, headers=op)
    assert cleared.json()["topology"] is None
    assert cleared.json()["tripwires"] == [DOOR]
    demo = (await service.client.post(f"{p}/environments/demo", headers=op)).json()
    assert {w["name"] for w in demo["tripwires"]} == {"door_A_east", "door_B_west", "door_C_west"}
    assert ["cam_a1", "cam_a2"] in demo["topology"]["overlaps"]


async def test_analytics_without_tripwires_or_zones_say_what_is_missing(service) -> None:
    p, op = service.prefix, service.auth("operator")
    r = await service.client.post(f"{p}/environments", json={"name": "bare"}, headers=op)
    task_id, _ = await _store(service, r.json()["id"])
    for path, what in (("tripwires", "tripwires"), ("transitions", "zones")):
        got = await service.client.get(f"{p}/analytics/tasks/{task_id}/{path}", headers=service.auth("viewer"))
        assert got.status_code == 422
        assert what in got.json()["detail"]
    missing = await service.client.get(f"{p}/analytics/tasks/{'f' * 32}/speeds", headers=service.auth("viewer"))
    assert missing.status_code == 404
