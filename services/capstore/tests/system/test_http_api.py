"""Both apps through HTTP over two real redis-server nodes: the seed API, the JSON API, sessions,
the monitoring endpoints and the seed's metric names, parsed with prometheus_client's parser."""

from __future__ import annotations

from typing import Any

import pytest
from capstore.node import RedisNode

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("mode", ["cp", "ap"])
async def test_seed_api_write_then_read(make_app: Any, mode: str) -> None:
    app = await make_app(mode)
    written = await app.client.post("/write/greeting/hello%20world")
    assert written.status_code == 200, written.text
    body = written.json()
    assert body["key"] == "greeting"
    assert body["value"] == "hello world"
    assert body["mode"] == mode
    assert body["node"] == "db_g1"
    read = await app.client.get("/read/greeting")
    assert read.status_code == 200
    payload = read.json()
    assert payload["value"] == "hello world"
    assert payload["version"] == body["version"]
    assert set(payload) >= {"value", "version", "staleness_ms", "stale", "node"}
    assert payload["stale"] is False
    missing = (await app.client.get("/read/never-written")).json()
    assert missing["value"] is None
    assert missing["version"] is None


async def test_cp_write_is_on_both_nodes_before_the_reply(make_app: Any, redis_nodes: dict[str, Any]) -> None:
    app = await make_app("cp")
    reply = (await app.client.post("/write/k/v1")).json()
    for name, server in redis_nodes.items():
        node = RedisNode(name, server.url.replace("/0", f"/{app.settings.DB_INDEX_CP}"))
        try:
            record, _ = await node.read("k")
        finally:
            await node.close()
        assert record is not None
        assert (record.value, record.version) == ("v1", reply["version"])


async def test_the_two_modes_keep_separate_keys(make_app: Any) -> None:
    cp = await make_app("cp")
    ap = await make_app("ap")
    await cp.client.post("/write/shared/from-cp")
    await ap.client.post("/write/shared/from-ap")
    assert (await cp.client.get("/read/shared")).json()["value"] == "from-cp"
    assert (await ap.client.get("/read/shared")).json()["value"] == "from-ap"


@pytest.mark.parametrize("mode", ["cp", "ap"])
async def test_json_api_put_get_delete(make_app: Any, mode: str) -> None:
    app = await make_app(mode)
    put = await app.client.put("/kv/user:42", json={"value": "Ada ⚙ Lovelace"})
    assert put.status_code == 200
    got = await app.client.get("/kv/user:42")
    assert got.status_code == 200
    assert got.json()["value"] == "Ada ⚙ Lovelace"
    deleted = await app.client.delete("/kv/user:42")
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    assert deleted.json()["version"] > put.json()["version"]
    gone = await app.client.get("/kv/user:42")
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"
    assert (await app.client.get("/read/user:42")).json()["value"] is None


async def test_ap_session_token_is_returned_signed_and_echoed(make_app: Any) -> None:
    app = await make_app("ap")
    first = await app.client.put("/kv/a", json={"value": "1"})
    token = first.headers["x-session-token"]
    assert first.json()["session"] == token
    second = await app.client.put("/kv/b", json={"value": "2"}, headers={"X-Session-Token": token})
    newer = second.headers["x-session-token"]
    assert newer != token  # carries the newer log id
    read = await app.client.get("/kv/a", headers={"X-Session-Token": newer})
    assert read.headers["x-session-token"] == newer
    assert read.json()["value"] == "1"


async def test_cp_verifies_and_echoes_a_session_token(make_app: Any) -> None:
    ap = await make_app("ap")
    cp = await make_app("cp")
    token = (await ap.client.post("/write/x/1")).headers["x-session-token"]
    echoed = await cp.client.post("/write/x/2", headers={"X-Session-Token": token})
    assert echoed.status_code == 200
    assert echoed.headers["x-session-token"] == token
    forged = await cp.client.get("/read/x", headers={"X-Session-Token": token[:-2] + "xx"})
    assert forged.status_code == 400
    assert forged.json()["error"] == "invalid_session_token"


async def test_monitoring_endpoints(make_app: Any) -> None:
    app = await make_app("ap")
    health = (await app.client.get("/health")).json()
    assert health["status"] == "pass"
    assert health["mode"] == "ap"
    ready = await app.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["nodes"][0]["nodes"] == {"db_g1": "ok", "db_g2": "ok"}
    breakers = (await app.client.get("/circuit-breaker")).json()
    assert breakers["nodes"] == {"db_g1": {"state": "CLOSED", "code": 0}, "db_g2": {"state": "CLOSED", "code": 0}}
    cluster = (await app.client.get("/cluster")).json()
    assert [node["id"] for node in cluster["nodes"]] == ["db_g1", "db_g2"]
    assert cluster["fault_admin"] is True


async def test_readiness_fails_only_when_no_node_answers(make_app: Any, redis_nodes: dict[str, Any]) -> None:
    app = await make_app("cp")
    redis_nodes["db_g2"].kill()
    assert (await app.client.get("/ready")).status_code == 200
    redis_nodes["db_g1"].kill()
    ready = await app.client.get("/ready")
    assert ready.status_code == 503
    assert "no Redis node answers" in ready.text


async def test_seed_metrics_have_exact_names_and_labels(make_app: Any, parse_metrics: Any) -> None:
    cp = await make_app("cp")
    await cp.client.post("/write/m/1")
    await cp.client.get("/read/m")
    await cp.client.get("/read/bad%20key")
    samples = parse_metrics((await cp.client.get("/metrics")).text)
    assert samples[("app_requests_total", (("mode", "cp"), ("operation", "write"), ("status", "ok")))] == 1
    assert samples[("app_requests_total", (("mode", "cp"), ("operation", "read"), ("status", "ok")))] == 1
    assert samples[("app_requests_total", (("mode", "cp"), ("operation", "read"), ("status", "invalid")))] == 1
    assert samples[("app_request_latency_seconds_count", (("mode", "cp"), ("operation", "write")))] == 1
    assert samples[("circuit_breaker_state", (("node", "db_g1"),))] == 0
    assert samples[("circuit_breaker_state", (("node", "db_g2"),))] == 0
    assert ("data_staleness_ms", (("node", "db_g1"),)) in samples
    assert ("data_staleness_ms", (("node", "db_g2"),)) in samples
    # servicekit's HTTP metrics live in their own namespace on the same registry
    http = [labels for name, labels in samples if name == "capstore_requests_total"]
    assert (("endpoint", "/write/{key}/{value}"), ("method", "POST"), ("status", "200")) in http
    label_sets = {tuple(key for key, _ in labels) for name, labels in samples if name == "app_requests_total"}
    assert label_sets == {("mode", "operation", "status")}


async def test_connection_failures_are_counted_per_node(make_app: Any, parse_metrics: Any) -> None:
    app = await make_app("cp")
    await app.client.post("/admin/faults/db_g2", json={"mode": "drop"})
    refused = await app.client.post("/write/k/v")
    assert refused.status_code == 503
    samples = parse_metrics((await app.client.get("/metrics")).text)
    assert samples[("db_connection_failures_total", (("node", "db_g2"),))] >= 1
    assert samples[("app_requests_total", (("mode", "cp"), ("operation", "write"), ("status", "not_applied")))] == 1
