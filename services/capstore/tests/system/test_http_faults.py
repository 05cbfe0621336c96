"""Faults injected through the admin API (the app's own fault proxies in front of real redis-server
nodes): CP refuses with 503 and says whether the outcome is unknown; AP keeps answering, reports
staleness and converges after the heal; read-your-writes holds over HTTP; servicekit's real circuit
breaker opens, refuses without sending, and closes after a half-open probe."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from capstore.node import RedisNode

pytestmark = pytest.mark.redis


async def _fault(app: Any, node: str, mode: str, **extra: Any) -> None:
    reply = await app.client.post(f"/admin/faults/{node}", json={"mode": mode, **extra})
    assert reply.status_code == 200, reply.text


async def _eventually(check: Any, timeout_s: float, interval_s: float = 0.05) -> float:
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


async def test_cp_refuses_not_applied_when_the_backup_is_partitioned(make_app: Any) -> None:
    cp = await make_app("cp")
    assert (await cp.client.post("/write/k/before")).status_code == 200
    await _fault(cp, "db_g2", "blackhole")
    refused = await cp.client.post("/write/k/during")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["error"] == "write_refused"
    assert body["outcome"] == "not_applied"
    assert "db_g2" in body["detail"]
    # reads come from the primary and never show the refused value
    assert (await cp.client.get("/read/k")).json()["value"] == "before"
    json_refused = await cp.client.put("/kv/k", json={"value": "during"})
    assert json_refused.status_code == 503
    assert json_refused.json()["outcome"] == "not_applied"
    assert (await cp.client.post("/admin/heal")).status_code == 200
    assert (await cp.client.get("/read/k")).json()["value"] == "before"


async def test_cp_outcome_is_unknown_when_the_primary_stops_answering(make_app: Any) -> None:
    cp = await make_app("cp")
    await cp.client.post("/write/k/before")
    await _fault(cp, "db_g1", "blackhole")
    refused = await cp.client.post("/write/k/maybe")
    assert refused.status_code == 503
    assert refused.json()["outcome"] == "unknown"  # sent to the primary, no reply
    unavailable = await cp.client.get("/read/k")
    assert unavailable.status_code == 503
    assert unavailable.json()["error"] == "primary_unavailable"
    await cp.client.post("/admin/heal")
    await asyncio.sleep(1.1)  # the primary's breaker may have opened; let it half-open
    after = await cp.client.get("/read/k")
    assert after.status_code == 200
    assert after.json()["value"] in ("before", "maybe")  # both are legal for an unknown outcome


async def test_cp_refuses_at_once_when_a_node_is_killed(make_app: Any) -> None:
    cp = await make_app("cp")
    await _fault(cp, "db_g2", "drop")
    started = time.monotonic()
    refused = await cp.client.post("/write/k/v")
    assert time.monotonic() - started < 0.2  # connection refused: no timeout to wait for
    assert refused.json()["outcome"] == "not_applied"


async def test_real_breaker_opens_refuses_without_sending_and_recovers(
    make_app: Any, parse_metrics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = await make_app("cp", BREAKER_FAILURE_THRESHOLD=3, BREAKER_RECOVERY_TIMEOUT=1.0)
    proxy = cp.runtime.proxies["db_g2"]
    await _fault(cp, "db_g2", "blackhole")
    for _ in range(3):
        assert (await cp.client.post("/write/k/v")).status_code == 503
    breakers = (await cp.client.get("/circuit-breaker")).json()["nodes"]
    assert breakers["db_g2"] == {"state": "OPEN", "code": 2}
    assert breakers["db_g1"] == {"state": "CLOSED", "code": 0}
    connections = proxy.connections_total
    started = time.monotonic()
    refused = await cp.client.post("/write/k/v")
    assert time.monotonic() - started < 0.05
    assert refused.json()["outcome"] == "not_applied"
    assert "circuit breaker" in refused.json()["detail"]
    assert proxy.connections_total == connections  # the open breaker sent nothing
    samples = parse_metrics((await cp.client.get("/metrics")).text)
    assert samples[("circuit_breaker_state", (("node", "db_g2"),))] == 2
    await cp.client.post("/admin/heal")
    await asyncio.sleep(1.05)
    # the preflight PING is the half-open trial; it succeeds, the breaker closes, the write goes through
    assert (await cp.client.post("/write/k/after")).status_code == 200
    assert (await cp.client.get("/circuit-breaker")).json()["nodes"]["db_g2"]["state"] == "CLOSED"
    samples = parse_metrics((await cp.client.get("/metrics")).text)
    assert samples[("circuit_breaker_state", (("node", "db_g2"),))] == 0
    transitions = {
        (dict(labels)["from_state"], dict(labels)["to_state"]): value
        for (name, labels), value in samples.items()
        if name == "capstore_circuit_breaker_transitions_total" and dict(labels)["node"] == "db_g2"
    }
    assert transitions == {("CLOSED", "OPEN"): 1, ("OPEN", "HALF_OPEN"): 1, ("HALF_OPEN", "CLOSED"): 1}
    logs = capsys.readouterr().out
    assert "circuit_breaker_transition" in logs
    assert "DB_CONNECT_FAILURE" in logs
    assert "PARTITION_INJECTED" in logs


async def test_ap_keeps_answering_reports_stale_and_converges_after_heal(
    make_app: Any, redis_nodes: dict[str, Any], parse_metrics: Any
) -> None:
    ap = await make_app("ap", MAX_STALENESS_MS=300)
    await _fault(ap, "db_g2", "blackhole")
    versions = {}
    for i in range(20):
        reply = await ap.client.put(f"/kv/p{i}", json={"value": f"v{i}"})
        assert reply.status_code == 200
        assert reply.json()["node"] == "db_g1"
        versions[f"p{i}"] = reply.json()["version"]
    await asyncio.sleep(0.7)
    read = await ap.client.get("/read/p0")
    assert read.status_code == 200
    assert read.json()["value"] == "v0"
    assert read.json()["stale"] is True
    assert read.json()["staleness_ms"] > 300
    samples = parse_metrics((await ap.client.get("/metrics")).text)
    assert samples[("data_staleness_ms", (("node", "db_g1"),))] > 300
    await ap.client.post("/admin/heal")
    direct = RedisNode("db_g2", redis_nodes["db_g2"].url.replace("/0", f"/{ap.settings.DB_INDEX_AP}"))
    try:

        async def converged() -> bool:
            records = await direct.records(sorted(versions))
            return {key: record.version for key, record in records.items()} == versions

        elapsed = await _eventually(converged, timeout_s=5.0)
    finally:
        await direct.close()
    assert elapsed < 3.0  # includes the breaker's 1 s recovery timeout before the first probe
    await asyncio.sleep(0.2)
    assert (await ap.client.get("/read/p0")).json()["stale"] is False


async def test_ap_writes_go_to_the_next_node_when_the_local_one_is_down(make_app: Any) -> None:
    ap = await make_app("ap")
    await _fault(ap, "db_g1", "drop")
    written = await ap.client.post("/write/k/v")
    assert written.status_code == 200
    assert written.json()["node"] == "db_g2"
    read = await ap.client.get("/read/k")
    assert (read.status_code, read.json()["value"], read.json()["node"]) == (200, "v", "db_g2")


async def test_read_your_writes_over_http(make_app: Any) -> None:
    # Two AP apps with different local nodes. A cannot reach db_g2 and B cannot reach db_g1, so
    # nothing carries db_g1's writes to db_g2: B can only serve reads from a node that lacks them.
    a = await make_app("ap", PRIMARY_NODE="db_g1", SESSION_WAIT_MS=150)
    b = await make_app("ap", PRIMARY_NODE="db_g2", SESSION_WAIT_MS=150)
    await a.client.post("/write/ryw/old")

    async def b_has_old() -> bool:
        return (await b.client.get("/read/ryw")).json()["value"] == "old"

    await _eventually(b_has_old, timeout_s=3.0)
    await _fault(a, "db_g2", "blackhole")
    await _fault(b, "db_g1", "blackhole")
    written = await a.client.post("/write/ryw/new")
    token = written.headers["x-session-token"]
    # without the token B answers from db_g2, stale
    plain = await b.client.get("/read/ryw")
    assert (plain.status_code, plain.json()["value"], plain.json()["node"]) == (200, "old", "db_g2")
    # with the token B refuses rather than show the client an older value than it wrote
    honoured = await b.client.get("/read/ryw", headers={"X-Session-Token": token})
    assert honoured.status_code == 503
    assert honoured.json()["error"] == "session_unavailable"
    assert honoured.headers["x-session-token"] == token
    await a.client.post("/admin/heal")

    async def b_honours() -> bool:
        reply = await b.client.get("/read/ryw", headers={"X-Session-Token": token})
        return reply.status_code == 200 and reply.json()["value"] == "new"

    await _eventually(b_honours, timeout_s=5.0)
