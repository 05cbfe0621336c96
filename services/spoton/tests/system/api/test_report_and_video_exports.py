"""PDF report and annotated MP4 exports, read back by their own readers (pypdf, ffprobe, OpenCV)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from pypdf import PdfReader
from spoton.exports.video import id_colour
from spoton.scene import demo_scene

FRAMES, W, H = 20, 320, 180


async def _export(service, task_id: str, fmt: str) -> bytes:
    p, op = service.prefix, service.auth("operator")
    r = await service.client.post(f"{p}/exports", json={"task_id": task_id, "format": fmt}, headers=op)
    assert r.status_code == 202, r.text
    await service.state.exports.wait_all()
    info = (await service.client.get(f"{p}/exports/{r.json()['id']}", headers=op)).json()
    assert info["status"] == "ready", info
    download = await service.client.get(info["download_url"], headers=service.auth("viewer"))
    assert download.status_code == 200
    assert download.headers["content-type"] == {"pdf": "application/pdf", "mp4": "video/mp4"}[fmt]
    return download.content


@pytest.fixture
async def finished_task(service) -> dict:
    p = service.prefix
    env = await service.client.post(f"{p}/environments/demo", headers=service.auth("operator"))
    body = {"source": "synthetic", "environment_id": env.json()["id"], "cameras": ["cam_a1", "cam_b"],
            "num_frames": FRAMES, "width": W, "height": H}  # fmt: skip
    r = await service.client.post(f"{p}/tasks", json=body, headers=service.auth("operator"))
    done = await service.wait_task(r.json()["id"])
    assert done["status"] == "completed"
    return done


@pytest.mark.slow
async def test_pdf_report_holds_summary_cameras_zones_heatmap_and_journeys(service, finished_task) -> None:
    content = await _export(service, finished_task["id"], "pdf")
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    persons = (
        await service.client.get(
            f"{service.prefix}/tasks/{finished_task['id']}/persons", headers=service.auth("viewer")
        )
    ).json()
    assert "SpotOn task report" in text
    assert finished_task["id"] in text
    for heading in ("Per camera", "Zones: occupancy and dwell", "Tripwires", "Floor heatmap", "Journeys"):
        assert heading in text, heading
    assert "cam_a1" in text
    assert "cam_b" in text
    assert "room_A" in text
    assert "door_A_east" in text
    for person in persons:
        assert f"Person {person['id']}" in text
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1  # the heatmap, 12 px per 0.5 m cell, as the heatmap endpoint counts them
    heat = (
        await service.client.get(
            f"{service.prefix}/analytics/tasks/{finished_task['id']}/heatmap", params={"cell_m": 0.5},
            headers=service.auth("viewer"),
        )
    ).json()  # fmt: skip
    rows, cols = len(heat["counts"]), len(heat["counts"][0])
    assert sum(map(sum, heat["counts"])) > 0
    assert images[0].image.size == (cols * 12, rows * 12)


@pytest.mark.slow
async def test_annotated_mp4_has_every_frame_and_draws_global_ids(service, finished_task, tmp_path: Path) -> None:
    task_id = finished_task["id"]
    content = await _export(service, task_id, "mp4")
    video = tmp_path / "out.mp4"
    video.write_bytes(content)
    ffprobe = shutil.which("ffprobe")
    assert ffprobe is not None, "ffprobe (apt package ffmpeg) is required"
    probe = await asyncio.to_thread(
        subprocess.run,
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,nb_read_frames,codec_name", "-of", "json", str(video)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["width"], stream["height"]) == (2 * W, H)  # two cameras side by side
    assert int(stream["nb_read_frames"]) == FRAMES
    assert stream["codec_name"] == "mpeg4"

    # Pick a frame with boxes in cam_b (the right-hand tile) and look for its id colour on the box edge.
    det = (
        await service.client.get(
            f"{service.prefix}/tasks/{task_id}/detections", params={"camera": "cam_b", "limit": 1000},
            headers=service.auth("viewer"),
        )
    ).json()["items"]  # fmt: skip
    box = max(det, key=lambda d: d["bbox"][3] - d["bbox"][1])
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, box["frame"] - 1)
    ok, frame = capture.read()
    capture.release()
    assert ok
    tile = frame[:, W:]
    original = demo_scene(num_frames=FRAMES, width=W, height=H).render("cam_b", box["frame"])[0]
    x1, y1, _, y2 = (round(v) for v in box["bbox"])
    edge = np.zeros(tile.shape[:2], bool)
    edge[max(y1, 0) : y2 + 1, max(x1 - 1, 0) : x1 + 2] = True  # the left edge of the drawn rectangle
    colour = np.asarray(id_colour(box["global_person_id"]), float)

    def share_of_colour(image: np.ndarray) -> float:
        close = np.linalg.norm(image.astype(float) - colour, axis=2) < 60
        return float(close[edge].mean())

    assert share_of_colour(tile) > 0.5  # drawn in the global id's colour
    assert share_of_colour(original) < 0.1  # and not there in the raw frame


async def test_links_expose_a_refined_confidence_per_track(service, finished_task) -> None:
    assert finished_task["stats"]["refined_moves"] >= 0
    links = (
        await service.client.get(f"{service.prefix}/tasks/{finished_task['id']}/links", headers=service.auth("viewer"))
    ).json()
    tracks = [t for p in links["persons"] for t in p["tracks"]]
    persons = (
        await service.client.get(
            f"{service.prefix}/tasks/{finished_task['id']}/persons", headers=service.auth("viewer")
        )
    ).json()
    assert {p["person"] for p in links["persons"]} == {p["id"] for p in persons}
    assert all(0.0 <= t["confidence"] <= 1.0 for t in tracks)
    assert {t["reason"] for t in tracks} <= {"new", "overlap", "appearance"}
    for person in links["persons"]:
        assert person["weakest_confidence"] == min(t["confidence"] for t in person["tracks"])
    unsure = (
        await service.client.get(
            f"{service.prefix}/tasks/{finished_task['id']}/links", params={"max_confidence": 0.0},
            headers=service.auth("viewer"),
        )
    ).json()  # fmt: skip
    assert all(p["weakest_confidence"] == 0.0 for p in unsure["persons"])


@pytest.mark.slow
async def test_annotated_mp4_of_an_uploaded_video_task(service, tmp_path: Path) -> None:
    source = tmp_path / "cam.avi"
    scene = demo_scene(num_frames=8, width=W, height=H)
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    for frame in range(1, 9):
        writer.write(scene.render("cam_b", frame)[0])
    writer.release()
    p, op = service.prefix, service.auth("operator")
    with source.open("rb") as handle:
        upload = await service.client.post(
            f"{p}/videos", files={"file": ("cam.avi", handle, "video/x-msvideo")}, headers=op
        )
    assert upload.status_code == 201, upload.text
    body = {"source": "video", "video_id": upload.json()["video_id"], "camera": "cam_b", "max_frames": 6}
    task = await service.client.post(f"{p}/tasks", json=body, headers=op)
    assert (await service.wait_task(task.json()["id"]))["status"] == "completed"
    video = tmp_path / "annotated.mp4"
    video.write_bytes(await _export(service, task.json()["id"], "mp4"))
    capture = cv2.VideoCapture(str(video))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    assert (frames, size) == (6, (W, H))  # max_frames bounds the video as it bounded the task
