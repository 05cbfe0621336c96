"""Processing tasks through HTTP: synthetic scene and video files, progress, stop, queries, exports."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import cv2
import pytest
from spoton.db import ExportJob
from spoton.evaluation import parse_mot
from spoton.scene import demo_scene
from sqlalchemy import update


async def _demo(service) -> int:
    r = await service.client.post(f"{service.prefix}/environments/demo", headers=service.auth("operator"))
    return r.json()["id"]  # type: ignore[no-any-return]


async def _start(service, **body) -> dict:
    r = await service.client.post(f"{service.prefix}/tasks", json=body, headers=service.auth("operator"))
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MJPEG AVI of the synthetic scene's room B camera (20 frames)."""
    path = tmp_path_factory.mktemp("video") / "cam_b.avi"
    scene = demo_scene(num_frames=20)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 360))
    for frame in range(1, 21):
        writer.write(scene.render("cam_b", frame)[0])
    writer.release()
    return path


@pytest.mark.slow
async def test_synthetic_task_end_to_end(service) -> None:
    p, viewer = service.prefix, service.auth("viewer")
    env_id = await _demo(service)
    task = await _start(service, source="synthetic", environment_id=env_id, cameras=["cam_a1", "cam_a2"], num_frames=25)
    assert task["status"] == "queued"
    assert task["frames_total"] == 25
    done = await service.wait_task(task["id"])
    assert done["status"] == "completed"
    assert done["progress"] == 1.0
    assert done["frames_done"] == 25
    assert done["stats"]["fps_per_camera"] > 0
    assert set(done["stats"]["stage_ms_per_frame"]) >= {"detect", "track"}
    listed = await service.client.get(f"{p}/tasks", params={"status": "completed"}, headers=viewer)
    assert [t["id"] for t in listed.json()] == [task["id"]]

    det = (await service.client.get(f"{p}/tasks/{task['id']}/detections", params={"limit": 5}, headers=viewer)).json()
    assert det["total"] > 20
    assert len(det["items"]) == 5
    first = det["items"][0]
    assert first["floor"] is not None
    assert 0 <= first["floor"][0] <= 11
    frame = (await service.client.get(f"{p}/tasks/{task['id']}/frames/{first['frame']}", headers=viewer)).json()
    assert any(t["track_id"] == first["track_id"] for t in frame["tracks"])
    tracks = (await service.client.get(f"{p}/tasks/{task['id']}/tracks", headers=viewer)).json()
    persons = (await service.client.get(f"{p}/tasks/{task['id']}/persons", headers=viewer)).json()
    assert persons
    assert all(t["global_person_id"] in {q["id"] for q in persons} for t in tracks)
    # Overlapping views: some person is seen by both room-A cameras under one global id.
    assert any(set(q["cameras"]) == {"cam_a1", "cam_a2"} for q in persons)
    traj = (
        await service.client.get(f"{p}/tasks/{task['id']}/persons/{persons[0]['id']}/trajectory", headers=viewer)
    ).json()
    assert traj["points"]
    assert all(1.0 <= pt["x"] <= 10.5 and 0 <= pt["y"] <= 10 for pt in traj["points"])

    events = (await service.client.get(f"{p}/analytics/tasks/{task['id']}/zone-events", headers=viewer)).json()
    assert events["counts"]["room_A"]["enter"] >= 1
    assert events["counts"]["room_C"]["enter"] == 0
    occupancy = (await service.client.get(f"{p}/analytics/tasks/{task['id']}/occupancy", headers=viewer)).json()
    assert max(pt["max_people"] for pt in occupancy["zones"]["room_A"]) >= 1
    dwell = (await service.client.get(f"{p}/analytics/tasks/{task['id']}/dwell", headers=viewer)).json()
    assert "room_A" in dwell["zones"]


async def test_exports_csv_json_mot_and_expiry(service) -> None:
    p, op = service.prefix, service.auth("operator")
    task = await _start(service, source="synthetic", cameras=["cam_b"], num_frames=12)
    await service.wait_task(task["id"])
    files = {}
    for fmt in ("csv", "json", "mot", "xlsx"):
        r = await service.client.post(f"{p}/exports", json={"task_id": task["id"], "format": fmt}, headers=op)
        assert r.status_code == 202, r.text
        export_id = r.json()["id"]
        await service.state.exports.wait_all()
        info = (await service.client.get(f"{p}/exports/{export_id}", headers=op)).json()
        assert info["status"] == "ready", info
        download = await service.client.get(info["download_url"], headers=service.auth("viewer"))
        assert download.status_code == 200
        files[fmt] = (export_id, download.content)
    rows = list(csv.DictReader(io.StringIO(files["csv"][1].decode())))
    data = json.loads(files["json"][1])
    with zipfile.ZipFile(io.BytesIO(files["mot"][1])) as archive:
        mot = parse_mot(archive.read("cam_b.txt").decode())
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(files["xlsx"][1]))["detections"]
    assert len(rows) == len(data["detections"]) == len(mot) == sheet.max_row - 1 > 0
    assert {r["camera"] for r in rows} == {"cam_b"}
    # Expiry: once past expires_at the download is 410 and the file is gone.
    export_id = files["csv"][0]
    async with service.state.db.session() as session:
        job = await session.get(ExportJob, export_id)
        path = Path(job.path)
        await session.execute(
            update(ExportJob).where(ExportJob.id == export_id).values(expires_at=dt.datetime.now(dt.UTC))
        )
        await session.commit()
    assert path.exists()  # noqa: ASYNC240 - a test inspecting files
    gone = await service.client.get(f"{p}/exports/{export_id}/download", headers=op)
    assert gone.status_code == 410
    assert gone.json()["error"] == "expired"
    assert not path.exists()  # noqa: ASYNC240 - a test inspecting files
    missing = await service.client.post(f"{p}/exports", json={"task_id": "f" * 32, "format": "csv"}, headers=op)
    assert missing.status_code == 404
    unknown = await service.client.post(f"{p}/exports", json={"task_id": task["id"], "format": "docx"}, headers=op)
    assert unknown.status_code == 422


async def test_stop_a_running_task(service) -> None:
    task = await _start(service, source="synthetic", cameras=["cam_c"], num_frames=5000, width=320, height=180)
    for _ in range(400):
        status = (
            await service.client.get(f"{service.prefix}/tasks/{task['id']}", headers=service.auth("viewer"))
        ).json()
        if status["frames_done"] > 0:
            break
        await asyncio.sleep(0.02)
    assert status["status"] == "running"
    assert 0 < status["progress"] < 1
    r = await service.client.post(f"{service.prefix}/tasks/{task['id']}/stop", headers=service.auth("operator"))
    assert r.status_code == 202
    done = await service.wait_task(task["id"], limit_s=10)
    assert done["status"] == "stopped"
    assert done["frames_done"] < 5000


async def test_video_upload_and_task(service, video_file: Path) -> None:
    p, op = service.prefix, service.auth("operator")
    with video_file.open("rb") as handle:
        r = await service.client.post(f"{p}/videos", files={"file": ("../../etc/passwd.avi", handle)}, headers=op)
    assert r.status_code == 201, r.text
    info = r.json()
    assert (info["width"], info["height"], info["frames"]) == (640, 360, 20)
    stored = list((service.settings.DATA_DIR / "uploads").iterdir())
    assert [f.name for f in stored] == [f"{info['video_id']}.avi"]  # never the client's file name
    task = await _start(service, source="video", video_id=info["video_id"], camera="cam_b", max_frames=15)
    done = await service.wait_task(task["id"])
    assert done["status"] == "completed"
    assert done["frames_done"] == 15
    det = (await service.client.get(f"{p}/tasks/{task['id']}/detections", headers=op)).json()
    assert det["total"] > 0
    assert {d["camera"] for d in det["items"]} == {"cam_b"}
    assert all(d["floor"] is None for d in det["items"])  # no environment: no floor coordinates


async def test_local_video_path_stays_inside_media_root(service, video_file: Path) -> None:
    p, op = service.prefix, service.auth("operator")
    media = service.settings.media_root
    media.mkdir(parents=True, exist_ok=True)
    (media / "clip.avi").write_bytes(video_file.read_bytes())  # noqa: ASYNC240 - a test inspecting files
    task = await _start(service, source="video", path="clip.avi", max_frames=3)
    assert (await service.wait_task(task["id"]))["status"] == "completed"
    for path in ("../spoton.db", "/etc/passwd", "../../../../etc/hostname"):
        r = await service.client.post(f"{p}/tasks", json={"source": "video", "path": path}, headers=op)
        assert r.status_code in (422, 404), path
        assert r.json()["error"] in ("invalid_input", "invalid_video"), path
    both = await service.client.post(
        f"{p}/tasks", json={"source": "video", "path": "clip.avi", "video_id": "a" * 32}, headers=op
    )
    assert both.status_code == 422
    unknown = await service.client.post(f"{p}/tasks", json={"source": "video", "video_id": "a" * 32}, headers=op)
    assert unknown.status_code == 404


async def test_bad_and_oversize_uploads(service_factory) -> None:
    async with service_factory(MAX_REQUEST_SIZE_MB=1) as service:
        p, op = service.prefix, service.auth("operator")
        junk = await service.client.post(f"{p}/videos", files={"file": ("clip.mp4", b"\x00\x01not a video" * 100)},
                                         headers=op)  # fmt: skip
        assert junk.status_code == 422
        assert junk.json()["error"] == "invalid_video"
        text = await service.client.post(f"{p}/videos", files={"file": ("notes.txt", b"hello")}, headers=op)
        assert text.status_code == 422
        assert "video must be one of" in text.json()["detail"]
        huge = await service.client.post(f"{p}/videos", files={"file": ("big.mp4", b"\0" * (2 << 20))}, headers=op)
        assert huge.status_code == 413
        assert huge.json()["error"] == "request_too_large"
        uploads = service.settings.DATA_DIR / "uploads"
        assert not uploads.exists() or list(uploads.iterdir()) == []  # nothing kept from refused uploads
        bad_synthetic = await service.client.post(
            f"{p}/tasks", json={"source": "synthetic", "cameras": ["cam_z"]}, headers=op
        )
        assert bad_synthetic.status_code == 422
        extra = await service.client.post(f"{p}/tasks", json={"source": "synthetic", "sql": "1;"}, headers=op)
        assert extra.status_code == 422
        assert extra.json()["error"] == "validation_error"


async def test_two_cameras_at_different_fps_in_one_task(service, tmp_path: Path) -> None:
    """cam_a1 at 10 FPS and cam_a2 at 5 FPS over the same 2 s: synchronised by time, linked across."""
    scene = demo_scene(num_frames=40)
    paths = {}
    for camera, fps, step in (("cam_a1", 10.0, 1), ("cam_a2", 5.0, 2)):
        paths[camera] = tmp_path / f"{camera}.avi"
        writer = cv2.VideoWriter(str(paths[camera]), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 360))
        for frame in range(21, 41, step):  # seconds 2-4 of the scene, when people are in room A
            writer.write(scene.render(camera, frame)[0])
        writer.release()
    p, op = service.prefix, service.auth("operator")
    ids = {}
    for camera, path in paths.items():
        with path.open("rb") as handle:
            ids[camera] = (
                await service.client.post(f"{p}/videos", files={"file": (path.name, handle)}, headers=op)
            ).json()
    env_id = await _demo(service)
    task = await _start(
        service, source="video", environment_id=env_id,
        videos=[{"camera": c, "video_id": v["video_id"]} for c, v in ids.items()],
    )  # fmt: skip
    assert task["frames_total"] == 20
    assert task["params"]["camera_fps"] == {"cam_a1": 10.0, "cam_a2": 5.0}
    done = await service.wait_task(task["id"])
    assert done["status"] == "completed"
    det = (await service.client.get(f"{p}/tasks/{task['id']}/detections", params={"limit": 10000}, headers=op)).json()
    frames = {c: {d["frame"] for d in det["items"] if d["camera"] == c} for c in paths}
    assert frames["cam_a2"]
    assert all(f % 2 == 1 for f in frames["cam_a2"])  # the 5 FPS camera only on its own ticks
    assert any(f % 2 == 0 for f in frames["cam_a1"])
    persons = (await service.client.get(f"{p}/tasks/{task['id']}/persons", headers=op)).json()
    assert any(set(q["cameras"]) == {"cam_a1", "cam_a2"} for q in persons)  # linked across the two clocks
