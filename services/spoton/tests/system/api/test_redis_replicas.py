"""Two SpotOn replicas on one database and one real redis-server: shared jobs, frames, stops, limits.

Replica A runs the job (in-process runner); replica B runs nothing, yet its HTTP and WebSocket
clients see A's progress, latest tracks and frames, and a stop sent to B ends A's job. With Redis
killed, what needs it answers 503 and the running pipeline still finishes.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from .test_websocket import served

pytestmark = pytest.mark.redis

SMALL = {"source": "synthetic", "cameras": ["cam_b"], "width": 320, "height": 180}


async def _start(service, frames: int) -> str:
    r = await service.client.post(
        f"{service.prefix}/tasks", json=SMALL | {"num_frames": frames}, headers=service.auth("operator")
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_replica_b_sees_and_stops_a_job_running_on_replica_a(service_factory, redis_server) -> None:
    async with service_factory(REDIS_URL=redis_server.url) as a, service_factory(REDIS_URL=redis_server.url) as b:
        await asyncio.wait_for(b.state.live.listener_connected.wait(), 5)
        async with served(b.app) as base:
            task_id = await _start(a, 400)
            async with connect(f"{base}/ws/tracking/{task_id}?token={b.tokens['viewer']}") as ws:
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello"
                frames = []
                while len(frames) < 3:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                    assert message["type"] == "frame", message
                    frames.append(message)
                assert [m["frame"] for m in frames] == list(range(frames[0]["frame"], frames[0]["frame"] + 3))
                assert a.state.jobs.active() == [task_id]
                assert b.state.jobs.active() == []  # B runs nothing: all it knows comes through Redis

                seen = (await b.client.get(f"{b.prefix}/tasks/{task_id}", headers=b.auth("viewer"))).json()
                assert seen["status"] == "running"
                assert seen["frames_done"] >= frames[-1]["frame"]
                live = (await b.client.get(f"{b.prefix}/tasks/{task_id}/live", headers=b.auth("viewer"))).json()
                assert live["cameras"]["cam_b"]["frame"] >= frames[-1]["frame"]
                assert live["frames_total"] == 400
                board = await b.client.get(f"{b.prefix}/system/performance/dashboard", headers=b.auth("viewer"))
                running = {r["task_id"]: r for r in board.json()["running"]}
                assert running[task_id]["frames_done"] >= frames[-1]["frame"]

                stop = await b.client.post(f"{b.prefix}/tasks/{task_id}/stop", headers=b.auth("operator"))
                assert stop.status_code == 202
                rest = [json.loads(raw) async for raw in ws]
            assert rest[-1]["type"] == "end"
            assert rest[-1]["status"] == "stopped"
        done = await a.wait_task(task_id)
        assert done["status"] == "stopped"
        assert 3 <= done["frames_done"] < 400
        again = (await b.client.get(f"{b.prefix}/tasks/{task_id}", headers=b.auth("viewer"))).json()
        assert again["status"] == "stopped"
        assert again["frames_done"] == done["frames_done"]


async def test_rate_limits_are_shared_by_the_replicas(service_factory, redis_server) -> None:
    limits = {"REDIS_URL": redis_server.url, "RATE_LIMIT_ENABLED": True, "RATE_LIMIT_PER_MINUTE": 4}
    async with service_factory(**limits) as a, service_factory(**limits) as b:
        answers = []
        for replica in (a, b, a, b, a, b):
            r = await replica.client.get(f"{replica.prefix}/environments", headers=replica.auth("viewer"))
            answers.append((r.status_code, r.headers.get("x-ratelimit-remaining")))
    assert [status for status, _ in answers] == [200, 200, 200, 200, 429, 429]
    assert [remaining for _, remaining in answers[:4]] == ["3", "2", "1", "0"]


@pytest.mark.slow
async def test_redis_outage_gives_503_where_needed_and_the_pipeline_finishes(
    service_factory, redis_server_factory
) -> None:
    redis = redis_server_factory()
    async with (
        service_factory(REDIS_URL=redis.url) as svc,
        service_factory(REDIS_URL=redis.url, JOB_BACKEND="dramatiq") as queued,
    ):
        task_id = await _start(svc, 40)
        for _ in range(1000):  # until the job is past its first frames
            body = (await svc.client.get(f"{svc.prefix}/tasks/{task_id}", headers=svc.auth("viewer"))).json()
            if body["frames_done"] >= 2:
                break
            await asyncio.sleep(0.02)
        redis.kill()

        live = await svc.client.get(f"{svc.prefix}/tasks/{task_id}/live", headers=svc.auth("viewer"))
        assert live.status_code == 503
        assert live.json()["error"] == "live_state_unavailable"
        assert "Redis" in live.json()["detail"]
        ready = await svc.client.get("/ready")
        assert ready.status_code == 503
        # A stop for a job this replica does not run cannot be delivered without Redis.
        stop = await queued.client.post(f"{queued.prefix}/tasks/{task_id}/stop", headers=queued.auth("operator"))
        assert stop.status_code == 503
        assert stop.json()["error"] == "live_state_unavailable"
        # The queue backend cannot enqueue: 503, and the task is not left queued forever.
        r = await queued.client.post(
            f"{queued.prefix}/tasks", json=SMALL | {"num_frames": 2}, headers=queued.auth("operator")
        )
        assert r.status_code == 503
        assert r.json()["error"] == "job_queue_unavailable"

        done = await svc.wait_task(task_id)
        assert done["status"] == "completed"
        assert done["frames_done"] == 40
        detections = await svc.client.get(f"{svc.prefix}/tasks/{task_id}/detections", headers=svc.auth("viewer"))
        assert detections.json()["total"] > 0
        listed = (
            await svc.client.get(f"{svc.prefix}/tasks", params={"status": "failed"}, headers=svc.auth("viewer"))
        ).json()
        assert [t["error"][:12] for t in listed] == ["not enqueued"]
