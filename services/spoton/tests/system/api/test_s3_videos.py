"""Videos from an S3-compatible store: a real S3 protocol server (moto in server mode) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import cv2
import pytest
from moto.server import ThreadedMotoServer
from servicekit.local import free_port
from spoton.scene import demo_scene


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, tmp_path: Path) -> str:
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )  # fmt: skip
    name = f"spoton-{tmp_path.name[-20:].lower().replace('_', '-')}"
    client.create_bucket(Bucket=name)
    video = tmp_path / "clip.avi"
    scene = demo_scene(num_frames=6)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 360))
    for frame in range(1, 7):
        writer.write(scene.render("cam_b", frame)[0])
    writer.release()
    client.upload_file(str(video), name, "site-1/cam_b/clip.avi")
    client.put_object(Bucket=name, Key="site-1/broken.mp4", Body=b"not a video")
    return name


async def test_task_from_an_s3_video(service_factory, s3_endpoint: str, bucket: str) -> None:
    settings = {
        "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET_NAME": bucket, "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
    }  # fmt: skip
    async with service_factory(**settings) as service:
        p, op = service.prefix, service.auth("operator")
        r = await service.client.post(
            f"{p}/tasks", json={"source": "video", "s3_key": "site-1/cam_b/clip.avi", "camera": "cam_b"}, headers=op
        )
        assert r.status_code == 202, r.text
        assert (await service.wait_task(r.json()["id"]))["status"] == "completed"
        cached = list((service.settings.DATA_DIR / "s3-cache").iterdir())
        assert len(cached) == 1
        assert "site-1" not in cached[0].name  # cache names are hashes, never the key
        missing = await service.client.post(f"{p}/tasks", json={"source": "video", "s3_key": "nope.mp4"}, headers=op)
        assert missing.status_code == 404
        broken = await service.client.post(
            f"{p}/tasks", json={"source": "video", "s3_key": "site-1/broken.mp4"}, headers=op
        )
        assert broken.status_code == 422
        assert broken.json()["error"] == "invalid_video"
        for key in ("../etc/passwd.mp4", "/abs.mp4", "notes.txt"):
            bad = await service.client.post(f"{p}/tasks", json={"source": "video", "s3_key": key}, headers=op)
            assert bad.status_code == 422, key


async def test_s3_unconfigured_or_unreachable(service_factory) -> None:
    async with service_factory() as service:
        r = await service.client.post(
            f"{service.prefix}/tasks", json={"source": "video", "s3_key": "a.mp4"}, headers=service.auth("operator")
        )
        assert r.status_code == 501
        assert r.json()["error"] == "not_configured"
    dead = f"http://127.0.0.1:{free_port()}"
    async with service_factory(S3_ENDPOINT_URL=dead, S3_BUCKET_NAME="b", AWS_ACCESS_KEY_ID="x",
                               AWS_SECRET_ACCESS_KEY="y") as service:  # fmt: skip
        r = await service.client.post(
            f"{service.prefix}/tasks", json={"source": "video", "s3_key": "a.mp4"}, headers=service.auth("operator")
        )
        assert r.status_code == 502
        assert r.json()["error"] == "object_store_error"
