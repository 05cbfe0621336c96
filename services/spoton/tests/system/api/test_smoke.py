from __future__ import annotations

import time


async def test_demo_task_runs_end_to_end(service) -> None:
    p = service.prefix
    env = await service.client.post(f"{p}/environments/demo", headers=service.auth("operator"))
    assert env.status_code == 201, env.text
    started = time.perf_counter()
    r = await service.client.post(
        f"{p}/tasks",
        json={"source": "synthetic", "environment_id": env.json()["id"], "num_frames": 30},
        headers=service.auth("operator"),
    )
    assert r.status_code == 202, r.text
    task = await service.wait_task(r.json()["id"])
    print(time.perf_counter() - started, task["stats"])
    assert task["status"] == "completed", task
