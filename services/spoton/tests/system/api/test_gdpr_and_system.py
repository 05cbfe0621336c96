"""GDPR export and erasure of one global person (searched for afterwards in every table), and the
system endpoints of the seed guide."""

from __future__ import annotations

from spoton.db import AuditEntry, Base
from sqlalchemy import inspect, select, text


async def _finished_task(service, **extra) -> dict:
    env = (await service.client.post(f"{service.prefix}/environments/demo", headers=service.auth("operator"))).json()
    r = await service.client.post(
        f"{service.prefix}/tasks",
        json={"source": "synthetic", "environment_id": env["id"], "cameras": ["cam_a1", "cam_b"], "num_frames": 15,
              **extra},
        headers=service.auth("operator"),
    )  # fmt: skip
    return await service.wait_task(r.json()["id"])  # type: ignore[no-any-return]


async def _rows_mentioning(service, person_id: int, embedding: list[float] | None) -> dict[str, int]:
    """Search every table of the schema for the person's id (in id-like columns) or embedding."""
    found: dict[str, int] = {}
    async with service.state.db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(Base.metadata.tables) <= set(tables)
        for table in tables:
            columns = [c.name for c in Base.metadata.tables[table].columns] if table in Base.metadata.tables else []
            id_columns = [c for c in columns if c in ("global_person_id", "person_id")]
            if table == "global_persons":
                id_columns.append("id")
            clauses = [f"{c} = :pid" for c in id_columns]
            if embedding and "embedding" in columns:
                clauses.append("embedding IS NOT NULL AND embedding = :emb")
            if not clauses:
                continue
            count = (
                await conn.execute(
                    text(f"SELECT COUNT(*) FROM {table} WHERE " + " OR ".join(clauses)),  # noqa: S608 - our own names
                    {"pid": person_id, "emb": str(embedding)},
                )
            ).scalar_one()
            if count:
                found[table] = count
    return found


async def test_gdpr_export_then_erase_leaves_nothing(service) -> None:
    p, admin = service.prefix, service.auth("admin")
    task = await _finished_task(service)
    persons = (await service.client.get(f"{p}/tasks/{task['id']}/persons", headers=admin)).json()
    person_id = persons[0]["id"]
    # An export file of the task holds the person's boxes too.
    r = await service.client.post(f"{p}/exports", json={"task_id": task["id"], "format": "csv"},
                                  headers=service.auth("operator"))  # fmt: skip
    await service.state.exports.wait_all()
    export_path = service.settings.DATA_DIR / "exports" / f"{r.json()['id']}.csv"
    assert export_path.exists()
    await service.client.get(f"{p}/analytics/tasks/{task['id']}/zone-events", headers=admin)  # fills the cache
    assert service.state.caches["analytics"]

    exported = (await service.client.get(f"{p}/gdpr/persons/{person_id}", headers=admin)).json()
    assert exported["person"]["id"] == person_id
    assert exported["detections"]
    assert exported["tracks"]
    assert exported["person"]["embedding"]
    before = await _rows_mentioning(service, person_id, exported["person"]["embedding"])
    assert before["detections"] == len(exported["detections"])
    assert before["global_persons"] == 1

    erased = await service.client.delete(f"{p}/gdpr/persons/{person_id}", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["removed"]["detections"] == len(exported["detections"])
    assert await _rows_mentioning(service, person_id, exported["person"]["embedding"]) == {}
    assert not export_path.exists()
    assert not any(service.state.caches.values())
    others = (await service.client.get(f"{p}/tasks/{task['id']}/persons", headers=admin)).json()
    assert [q["id"] for q in others] == [q["id"] for q in persons[1:]]  # nobody else was touched
    again = await service.client.get(f"{p}/gdpr/persons/{person_id}", headers=admin)
    assert again.status_code == 404
    async with service.state.db.session() as session:
        audit = (await session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.actor))).all()
    assert ("gdpr.export", f"person:{person_id}", "admin-user") in audit
    assert ("gdpr.erase", f"person:{person_id}", "admin-user") in audit


async def test_system_endpoints(service) -> None:
    p, viewer = service.prefix, service.auth("viewer")
    metrics = (await service.client.get(f"{p}/system/performance/metrics", headers=viewer)).json()
    assert 0 <= metrics["cpu_usage_percent"] <= 100
    assert metrics["process_rss_mb"] > 10
    health = (await service.client.get(f"{p}/system/health/comprehensive", headers=viewer)).json()
    assert health["status"] == "healthy"
    assert health["checks"]["database"]["status"] == "pass"
    await _finished_task(service, num_frames=3)
    dashboard = (await service.client.get(f"{p}/system/performance/dashboard", headers=viewer)).json()
    assert dashboard["tasks_by_status"] == {"completed": 1}
    assert dashboard["recent_throughput"][0]["fps_per_camera"] > 0
    assert dashboard["current_metrics"]["frames_processed_total"] == 6  # 3 frames x 2 cameras
    alerts = (await service.client.get(f"{p}/system/alerts", headers=viewer)).json()
    assert alerts["count"] == len(alerts["alerts"])
    assert not [a for a in alerts["alerts"] if a["level"] == "critical"]
    prom = (await service.client.get("/metrics")).text
    assert "spoton_frames_processed_total 6.0" in prom
    assert "spoton_requests_total" in prom


async def test_maintenance_endpoints_work_for_admins(service) -> None:
    p, admin = service.prefix, service.auth("admin")
    service.state.caches.setdefault("analytics", {})["k"] = "v"
    cleared = (await service.client.post(f"{p}/system/maintenance/clear-cache", headers=admin)).json()
    assert cleared["cache_entries_cleared"] == 1
    assert service.state.caches["analytics"] == {}
    gc = (await service.client.post(f"{p}/system/maintenance/garbage-collect", headers=admin)).json()
    assert gc["collected_objects"] >= 0
    assert "rss_after_mb" in gc
    async with service.state.db.session() as session:
        actions = set((await session.execute(select(AuditEntry.action))).scalars())
    assert {"maintenance.clear_cache", "maintenance.garbage_collect"} <= actions


async def test_failed_jobs_raise_an_alert(service) -> None:
    """A video that breaks after probing fails the job; the service records it and alerts."""
    media = service.settings.media_root
    media.mkdir(parents=True, exist_ok=True)
    r = await service.client.post(
        f"{service.prefix}/tasks", json={"source": "synthetic", "cameras": ["cam_b"], "num_frames": 2},
        headers=service.auth("operator"),
    )  # fmt: skip
    task = await service.wait_task(r.json()["id"])
    assert task["status"] == "completed"
    # Restart recovery: a task left 'running' by a dead process is failed on start-up.
    from spoton.db import Task

    async with service.state.db.session() as session:
        session.add(Task(id="d" * 32, source="synthetic", params={}, status="running", created_by="x"))
        await session.commit()
    assert await service.state.jobs.recover() == 1
    alerts = (await service.client.get(f"{service.prefix}/system/alerts", headers=service.auth("viewer"))).json()
    assert any(a["kind"] == "task_failed" and "restart" in a["message"] for a in alerts["alerts"])
