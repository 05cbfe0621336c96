"""Environments and cameras: CRUD, homography validation, calibration, hostile strings."""

from __future__ import annotations

import numpy as np
from spoton.db import Camera
from spoton.scene import demo_cameras
from sqlalchemy import select

GOOD_H = [[0.02, 0.0, 1.0], [0.0, 0.03, 2.0], [0.0, 0.0001, 1.0]]


async def _env(service, name: str = "lobby") -> dict:
    r = await service.client.post(
        f"{service.prefix}/environments",
        json={"name": name, "zones": [{"name": "door", "polygon": [[0, 0], [2, 0], [2, 2], [0, 2]]}]},
        headers=service.auth("operator"),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_environment_crud(service) -> None:
    p, op = service.prefix, service.auth("operator")
    env = await _env(service)
    assert env["zones"][0]["name"] == "door"
    assert (await service.client.post(f"{p}/environments", json={"name": "lobby"}, headers=op)).status_code == 409
    r = await service.client.patch(f"{p}/environments/{env['id']}", json={"description": "ground floor"}, headers=op)
    assert r.json()["description"] == "ground floor"
    listed = await service.client.get(f"{p}/environments", headers=service.auth("viewer"))
    assert [e["name"] for e in listed.json()] == ["lobby"]
    assert (await service.client.delete(f"{p}/environments/{env['id']}", headers=op)).status_code == 204
    assert (await service.client.get(f"{p}/environments/{env['id']}", headers=op)).status_code == 404


async def test_camera_with_homography_and_encrypted_source(service) -> None:
    p, op = service.prefix, service.auth("operator")
    env = await _env(service)
    url = "rtsp://admin:hunter2@10.0.0.5/stream1"
    r = await service.client.post(
        f"{p}/environments/{env['id']}/cameras", json={"name": "gate", "homography": GOOD_H, "source": url},
        headers=op,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["has_source"] is True
    assert "hunter2" not in r.text
    assert np.allclose(cam["homography"], GOOD_H)
    async with service.state.db.session() as session:
        stored = (await session.execute(select(Camera.source_encrypted))).scalar_one()
    assert "hunter2" not in stored
    assert service.state.cipher.decrypt(stored) == url
    dup = await service.client.post(f"{p}/environments/{env['id']}/cameras", json={"name": "gate"}, headers=op)
    assert dup.status_code == 409
    gone = await service.client.post(f"{p}/environments/9999/cameras", json={"name": "x"}, headers=op)
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


async def test_malformed_homographies_are_422(service) -> None:
    p, op = service.prefix, service.auth("operator")
    env = await _env(service)
    bad = [
        [[1, 0], [0, 1]],  # not 3x3
        [[1, 0, 0], [0, 1], [0, 0, 1]],  # ragged (found by the schemathesis run)
        [[1, 0, 0], [0, 1, 0], [0, 0, 0]],  # h33 = 0
        [[1, 2, 3], [2, 4, 6], [1, 1, 1]],  # singular
        [[1, 0, 0], [0, 1, 0], ["a", 0, 1]],  # not numbers
        "identity",
        [[1e308, 1e308, 1e308]] * 3,
    ]
    for matrix in bad:
        r = await service.client.post(
            f"{p}/environments/{env['id']}/cameras", json={"name": "c", "homography": matrix}, headers=op
        )
        assert r.status_code == 422, (matrix, r.text)
        assert r.json()["error"] in ("invalid_homography", "validation_error")
    nan = await service.client.post(
        f"{p}/environments/{env['id']}/cameras",
        content=b'{"name": "c", "homography": [[NaN, 0, 0], [0, 1, 0], [0, 0, 1]]}',
        headers={**op, "content-type": "application/json"},
    )
    assert nan.status_code == 422


async def test_calibration_reports_error_and_refuses_bad_fits(service) -> None:
    p, op = service.prefix, service.auth("operator")
    env = await _env(service)
    cam = (await service.client.post(f"{p}/environments/{env['id']}/cameras", json={"name": "c"}, headers=op)).json()
    truth = demo_cameras()[0]
    floor = np.array([(x, y) for x in (2.0, 4.0, 6.0, 8.0) for y in (2.0, 4.0, 6.0)])
    image = np.c_[floor, np.ones(len(floor))] @ truth.floor_to_image.T
    image = image[:, :2] / image[:, 2:]
    url = f"{p}/environments/{env['id']}/cameras/{cam['id']}/calibration"
    good = await service.client.post(
        url, json={"image_points": image.tolist(), "floor_points": floor.tolist()}, headers=op
    )
    assert good.status_code == 200, good.text
    assert good.json()["reprojection_rms_m"] < 1e-6
    assert np.allclose(np.asarray(good.json()["homography"]), truth.image_to_floor, atol=1e-6)
    typo = floor.copy()
    typo[3] = (typo[3][1], typo[3][0])  # swapped coordinates
    refused = await service.client.post(
        url, json={"image_points": image.tolist(), "floor_points": typo.tolist()}, headers=op
    )
    assert refused.status_code == 422
    assert "reprojection error" in refused.json()["detail"]
    collinear = await service.client.post(
        url, json={"image_points": [[0, 0], [1, 1], [2, 2], [3, 3]], "floor_points": [[0, 0], [1, 0], [0, 1], [1, 1]]},
        headers=op,
    )  # fmt: skip
    assert collinear.status_code == 422
    huge = [[1.7976931348623157e308, 1.0], [2e299, 3e86], [5e-26, 1.4e48], [-2.5e183, 6.7e16]]
    absurd = await service.client.post(url, json={"image_points": huge, "floor_points": huge}, headers=op)
    assert absurd.status_code == 422  # found by the schemathesis run: OpenCV used to fail with a 500
    assert "collinear" in collinear.json()["detail"]


async def test_sql_like_strings_are_data_not_code(service) -> None:
    p, op = service.prefix, service.auth("operator")
    sneaky = "x'); DROP TABLE environments; --"
    r = await service.client.post(f"{p}/environments", json={"name": sneaky}, headers=op)
    assert r.status_code == 422  # names are restricted to a safe alphabet
    r = await service.client.post(f"{p}/environments", json={"name": "lobby", "description": sneaky}, headers=op)
    assert r.status_code == 201
    assert r.json()["description"] == sneaky
    q = await service.client.get(f"{p}/tasks/{'0' * 32}/detections", params={"camera": "' OR '1'='1"}, headers=op)
    assert q.status_code == 404
    bad_id = await service.client.get(f"{p}/environments/1 OR 1=1", headers=op)
    assert bad_id.status_code == 422
    assert len((await service.client.get(f"{p}/environments", headers=op)).json()) == 1


async def test_demo_environment_has_calibrated_cameras_and_room_zones(service) -> None:
    r = await service.client.post(f"{service.prefix}/environments/demo", headers=service.auth("operator"))
    env = r.json()
    assert [z["name"] for z in env["zones"]] == ["room_A", "room_B", "room_C"]
    cams = (await service.client.get(f"{service.prefix}/environments/{env['id']}/cameras",
                                     headers=service.auth("viewer"))).json()  # fmt: skip
    assert [c["name"] for c in cams] == ["cam_a1", "cam_a2", "cam_b", "cam_c"]
    assert all(c["reprojection_rms_m"] < 1e-3 for c in cams)
