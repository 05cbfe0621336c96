"""Hostile and malformed input, admin authorisation, and the seed's rate limits: every refusal is a
clear 4xx JSON body, never a 500, and nothing reaches Redis that should not."""

from __future__ import annotations

from typing import Any

import pytest
from capstore.config import Settings
from capstore.node import RedisNode
from servicekit import UnsafeSettingsError

pytestmark = pytest.mark.redis

ADMIN_TOKEN = "Zk4!pQ9@rT2#vX7$wB5%yN8^cM3&dL6*"


async def _keys_on(server: Any, database: int) -> dict[str, Any]:
    node = RedisNode("db_g1", server.url.replace("/0", f"/{database}"))
    try:
        return await node.snapshot()
    finally:
        await node.close()


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/read/bad%20key", "invalid_input"),
        ("/read/" + "k" * 201, "invalid_input"),
        ("/read/%D0%BA%D0%BB%D1%8E%D1%87", "invalid_input"),  # non-ASCII key
        ("/read/a%0D%0AFLUSHALL", "invalid_input"),
        ("/read/%7B%7Dcap", "invalid_input"),  # braces (Redis Cluster hash tags) are not key characters
    ],
)
async def test_bad_keys_are_400(make_app: Any, path: str, error: str) -> None:
    app = await make_app("cp")
    reply = await app.client.get(path)
    assert reply.status_code == 400
    assert reply.json()["error"] == error
    assert "key" in reply.json()["detail"]


@pytest.mark.parametrize("mode", ["cp", "ap"])
async def test_oversize_value_is_413_and_not_stored(make_app: Any, redis_nodes: dict[str, Any], mode: str) -> None:
    app = await make_app(mode)
    reply = await app.client.put("/kv/big", json={"value": "x" * (64 * 1024 + 1)})
    assert reply.status_code == 413
    assert reply.json() == {"error": "value_too_large", "detail": "value is 65537 bytes; the limit is 65536"}
    assert (await app.client.put("/kv/big", json={"value": "é" * (32 * 1024)})).status_code == 200  # exactly 64 KiB
    assert (await app.client.put("/kv/big", json={"value": "é" * (32 * 1024) + "x"})).status_code == 413


async def test_request_body_over_the_envelope_limit_is_413(make_app: Any) -> None:
    app = await make_app("ap", MAX_REQUEST_SIZE_MB=0.5)
    reply = await app.client.put("/kv/k", content=b'{"value": "' + b"x" * 600_000 + b'"}')
    assert reply.status_code == 413


async def test_control_characters_in_values_are_400(make_app: Any) -> None:
    app = await make_app("cp")
    nul = await app.client.post("/write/k/a%00b")
    assert nul.status_code == 400
    assert "control characters" in nul.json()["detail"]
    bell = await app.client.put("/kv/k", json={"value": "ring\u0007"})
    assert bell.status_code == 400


async def test_resp_injection_in_a_value_is_stored_verbatim(make_app: Any, redis_nodes: dict[str, Any]) -> None:
    app = await make_app("cp")
    payload = "x\r\n*1\r\n$8\r\nFLUSHALL\r\n*3\r\n$3\r\nSET\r\n$4\r\npwnd\r\n$1\r\n1\r\n"
    assert (await app.client.put("/kv/inj", json={"value": payload})).status_code == 200
    assert (await app.client.get("/kv/inj")).json()["value"] == payload
    stored = await _keys_on(redis_nodes["db_g1"], app.settings.DB_INDEX_CP)
    assert sorted(stored) == ["inj"]


async def test_lua_and_path_tricks_are_refused_or_harmless(make_app: Any) -> None:
    app = await make_app("ap")
    for path in ("/read/..%2F..%2Fetc%2Fpasswd", "/read/%2e%2e/%2e%2e/etc/passwd", "/kv/", "/write/k"):
        reply = await app.client.get(path)
        assert reply.status_code in (400, 404, 405), (path, reply.status_code)
        assert reply.headers["content-type"].startswith("application/json")
    dots = await app.client.post("/write/../v")  # the client normalises it away: no such route
    assert dots.status_code in (404, 405)
    lua = await app.client.post("/write/k/%27%29redis.call%28%27FLUSHALL%27%29--")
    assert lua.status_code == 200
    assert (await app.client.get("/read/k")).json()["value"] == "')redis.call('FLUSHALL')--"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "json"),
        (b'{"value": 5}', "value"),
        (b'{"value": "ok", "extra": 1}', "extra"),
        (b'["value"]', "body"),
        (b"", "body"),
    ],
)
async def test_malformed_json_bodies_are_400(make_app: Any, body: bytes, detail: str) -> None:
    app = await make_app("cp")
    reply = await app.client.put("/kv/k", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"
    assert detail in reply.json()["detail"].lower()


@pytest.mark.parametrize("token", ["garbage", "a.b", "x" * 5000, "e30.AAAA", "..", "é.é"])
async def test_tampered_session_tokens_are_400(make_app: Any, token: str) -> None:
    app = await make_app("ap")
    reply = await app.client.get("/read/k", headers={"X-Session-Token": token.encode("latin-1")})
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_session_token"


async def test_session_token_from_another_secret_is_refused(make_app: Any) -> None:
    other = await make_app("ap", SECRET_KEY="another-secret-" + "Q1w2E3r4T5y6U7i8O9p0")
    mine = await make_app("ap")
    token = (await other.client.post("/write/k/v")).headers["x-session-token"]
    assert (await mine.client.get("/read/k", headers={"X-Session-Token": token})).status_code == 400


# -- admin ----------------------------------------------------------------------------------------


async def test_admin_needs_the_token_when_one_is_set(make_app: Any) -> None:
    app = await make_app("cp", ADMIN_TOKEN=ADMIN_TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
        reply = await app.client.post("/admin/faults/db_g2", json={"mode": "drop"}, headers=headers)
        assert reply.status_code == 401
        assert reply.json()["error"] == "unauthorized"
    assert app.runtime.proxies["db_g2"].mode.value == "pass"
    ok = await app.client.post(
        "/admin/faults/db_g2", json={"mode": "drop"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert ok.status_code == 200
    assert app.runtime.proxies["db_g2"].mode.value == "drop"


async def test_admin_without_a_token_only_from_this_machine(make_app: Any) -> None:
    remote = await make_app("cp", client_address="203.0.113.7")
    reply = await remote.client.get("/admin/faults")
    assert reply.status_code == 403
    assert "ADMIN_TOKEN" in reply.json()["detail"]
    # a forged X-Forwarded-For from an untrusted peer changes nothing
    forged = await remote.client.get("/admin/faults", headers={"X-Forwarded-For": "127.0.0.1"})
    assert forged.status_code == 403
    local = await make_app("cp")
    assert (await local.client.get("/admin/faults")).status_code == 200


async def test_admin_input_errors(make_app: Any) -> None:
    app = await make_app("cp")
    unknown = await app.client.post("/admin/faults/db_g9", json={"mode": "drop"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_node")
    bad_mode = await app.client.post("/admin/faults/db_g1", json={"mode": "explode"})
    assert (bad_mode.status_code, bad_mode.json()["error"]) == (400, "invalid_input")
    no_delay = await app.client.post("/admin/faults/db_g1", json={"mode": "delay"})
    assert no_delay.status_code == 400
    delayed = await app.client.post("/admin/faults/db_g1", json={"mode": "delay", "delay_ms": 50})
    assert delayed.json()["fault"]["delay_ms"] == 50


async def test_fault_admin_is_off_in_production_unless_enabled(make_app: Any) -> None:
    secret = "p9!Lk2@Mn7#Bv4$Cx8%Zq1^Wr6&Ty3*Ue5"
    app = await make_app("cp", PRODUCTION_MODE=True, SECRET_KEY=secret)
    reply = await app.client.get("/admin/faults")
    assert (reply.status_code, reply.json()["error"]) == (404, "fault_admin_disabled")
    assert app.runtime.proxies == {}  # production talks to the nodes directly
    assert (await app.client.post("/write/k/v")).status_code == 200
    with pytest.raises(UnsafeSettingsError, match=r"CS\.E001"):
        await make_app("cp", PRODUCTION_MODE=True, SECRET_KEY=secret, ENABLE_FAULT_ADMIN=True)
    enabled = await make_app("cp", PRODUCTION_MODE=True, SECRET_KEY=secret, ENABLE_FAULT_ADMIN=True,
                             ADMIN_TOKEN=ADMIN_TOKEN)  # fmt: skip
    assert (await enabled.client.get("/admin/faults")).status_code == 401
    ok = await enabled.client.get("/admin/faults", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200


# -- rate limits ----------------------------------------------------------------------------------


def test_seed_rate_limits_are_the_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.RATE_LIMIT_ENABLED is True
    assert settings.rate_limits == ["1000/3600 second", "100/minute"]


async def test_rate_limit_429_with_headers_and_probes_exempt(make_app: Any) -> None:
    app = await make_app("ap", RATE_LIMIT_ENABLED=True, RATE_LIMIT_PER_MINUTE=5)
    for i in range(5):
        reply = await app.client.post(f"/write/k/{i}")
        assert reply.status_code == 200
        assert reply.headers["x-ratelimit-limit"] == "5"
        assert reply.headers["x-ratelimit-remaining"] == str(4 - i)
    limited = await app.client.get("/read/k")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-remaining"] == "0"
    for probe in ("/health", "/metrics", "/circuit-breaker", "/cluster"):
        assert (await app.client.get(probe)).status_code == 200
