"""Where the merged features meet the job runners: camera topology through the job spec, images never via Redis.

- The environment's topology is copied into the task's job spec, and the job (rebuilt from the spec,
  as a queue worker would) links with a topology-gated `GlobalLinker` and records `refined_moves`.
- With Redis live state, frames cross replicas without images: the replica running the job gives
  its own `frames=jpeg` viewers JPEGs, a viewer on another replica gets tracks only, and nothing
  published on Redis carries images.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import cv2
import numpy as np
import pytest
import redis.asyncio as aioredis
from spoton.db import Task
from spoton.pipeline import GlobalLinker
from spoton.pipeline import jobs as jobs_module
from spoton.scene import DEMO_TOPOLOGY
from websockets.asyncio.client import connect

from .test_websocket import served

CAMERAS = ["cam_a1", "cam_a2", "cam_b", "cam_c"]


async def test_environment_topology_travels_in_the_job_spec_to_the_linker(service, monkeypatch) -> None:
    used: list[Any] = []

    class RecordingLinker(GlobalLinker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            used.append(kwargs.get("topology"))

    monkeypatch.setattr(jobs_module, "GlobalLinker", RecordingLinker)
    op = service.auth("operator")
    env = await service.client.post(f"{service.prefix}/environments", json={"name": "demo", "topology": DEMO_TOPOLOGY},
                                    headers=op)  # fmt: skip
    assert env.status_code == 201, env.text
    body = {"source": "synthetic", "cameras": CAMERAS, "num_frames": 6, "width": 320, "height": 180,
            "environment_id": env.json()["id"]}  # fmt: skip
    started = await service.client.post(f"{service.prefix}/tasks", json=body, headers=op)
    assert started.status_code == 202, started.text
    done = await service.wait_task(started.json()["id"])
    assert done["status"] == "completed", done
    assert isinstance(done["stats"]["refined_moves"], int)
    async with service.state.db.session() as session:
        task = await session.get(Task, done["id"])
    assert task is not None
    assert ["cam_a1", "cam_a2"] in task.job_spec["topology"]["overlaps"]
    assert len(used) == 1
    assert used[0] is not None
    assert used[0].overlapping("cam_a1", "cam_a2")
    assert used[0].to_dict() == task.job_spec["topology"]


async def _collect(ws: Any) -> list[Any]:
    return [raw if isinstance(raw, bytes) else json.loads(raw) async for raw in ws]


@pytest.mark.redis
@pytest.mark.slow
async def test_images_reach_only_viewers_of_the_replica_running_the_job(service_factory, redis_server) -> None:
    async with service_factory(REDIS_URL=redis_server.url) as a, service_factory(REDIS_URL=redis_server.url) as b:
        await asyncio.wait_for(a.state.live.listener_connected.wait(), 5)
        await asyncio.wait_for(b.state.live.listener_connected.wait(), 5)
        spy = aioredis.Redis.from_url(redis_server.url)
        pubsub = spy.pubsub()
        await pubsub.psubscribe("spoton:frames:*")
        try:
            async with served(a.app) as base_a, served(b.app) as base_b:
                body = {"source": "synthetic", "cameras": ["cam_b"], "num_frames": 60, "width": 320, "height": 180}
                r = await a.client.post(f"{a.prefix}/tasks", json=body, headers=a.auth("operator"))
                task_id = r.json()["id"]
                query = f"frames=jpeg&max_width=160&token={a.tokens['viewer']}"
                async with (
                    connect(f"{base_a}/ws/tracking/{task_id}?{query}") as local,
                    connect(f"{base_b}/ws/tracking/{task_id}?{query}") as remote,
                ):
                    on_a, on_b = await asyncio.gather(_collect(local), _collect(remote))
                published = []
                while (item := await pubsub.get_message(timeout=0.5)) is not None:
                    if item["type"] == "pmessage":  # (the first one confirms the subscription)
                        published.append(json.loads(item["data"]))
        finally:
            await pubsub.aclose()
            await spy.aclose()

    assert on_a[-1]["type"] == on_b[-1]["type"] == "end"
    jpegs = [item for item in on_a if isinstance(item, bytes)]
    with_images = [m for m in on_a if isinstance(m, dict) and m.get("images")]
    assert with_images
    assert len(jpegs) == len(with_images)
    image = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (90, 160, 3)
    remote_frames = [m for m in on_b if isinstance(m, dict) and m["type"] == "frame"]
    assert remote_frames
    assert all("images" not in m for m in remote_frames)
    assert not any(isinstance(item, bytes) for item in on_b)
    assert [m for m in published if m["type"] == "frame"]
    assert all("images" not in m for m in published)
