"""The same API on PostgreSQL (asyncpg), and the seed's rate limit with X-RateLimit headers."""

from __future__ import annotations

import pytest


@pytest.mark.postgres
async def test_api_on_postgresql(service_factory, postgres_server) -> None:
    dsn = postgres_server.create_database("spoton_api")
    async with service_factory(DATABASE_URL=dsn) as service:
        assert service.state.db.kind == "postgresql"
        p, op = service.prefix, service.auth("operator")
        env = (await service.client.post(f"{p}/environments/demo", headers=op)).json()
        r = await service.client.post(
            f"{p}/tasks", json={"source": "synthetic", "environment_id": env["id"], "cameras": ["cam_b"],
                                "num_frames": 20}, headers=op,
        )  # fmt: skip
        task = await service.wait_task(r.json()["id"])
        assert task["status"] == "completed"
        det = (await service.client.get(f"{p}/tasks/{task['id']}/detections", headers=op)).json()
        assert det["total"] > 0
        persons = (await service.client.get(f"{p}/tasks/{task['id']}/persons", headers=op)).json()
        erased = await service.client.delete(f"{p}/gdpr/persons/{persons[0]['id']}", headers=service.auth("admin"))
        assert erased.status_code == 200
        health = (await service.client.get(f"{p}/system/health/comprehensive", headers=op)).json()
        assert health["checks"]["database"] == {"status": "pass", "kind": "postgresql",
                                                "latency_ms": health["checks"]["database"]["latency_ms"]}  # fmt: skip


async def test_rate_limit_per_minute_answers_429_with_headers(service_factory) -> None:
    async with service_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_PER_MINUTE=5) as service:
        statuses = []
        for _ in range(7):
            r = await service.client.get(f"{service.prefix}/auth/me", headers=service.auth("viewer"))
            statuses.append(r.status_code)
        assert statuses == [200] * 5 + [429] * 2
        assert r.headers["x-ratelimit-limit"] == "5"
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert int(r.headers["retry-after"]) > 0
        probe = await service.client.get("/health")
        assert probe.status_code == 200  # probes are never limited
