"""The pure-ASGI seed routes answer exactly as the FastAPI routes they stand in front of: same status,
headers and body for writes, reads, bad input, bad tokens and CP refusals, and
everything they do not match still reaches FastAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from capstore.seed_routes import SeedRoutes

pytestmark = pytest.mark.redis

_VARYING = {"version", "timestamp", "session", "staleness_ms"}  # differ between two real writes/reads


def _clients(running: Any) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    inner = running.app
    while not isinstance(inner, SeedRoutes):
        inner = inner.app
    fast, framework = inner, inner.app  # both without servicekit's layers: only the routes differ
    return tuple(  # type: ignore[return-value]
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=10)
        for app in (fast, framework)
    )


async def _same(clients: tuple[httpx.AsyncClient, httpx.AsyncClient], method: str, path: str, **kwargs: Any) -> Any:
    fast, framework = [await client.request(method, path, **kwargs) for client in clients]
    assert fast.status_code == framework.status_code, (path, fast.text, framework.text)
    assert fast.headers.keys() == framework.headers.keys(), path
    assert fast.headers["content-type"] == framework.headers["content-type"]
    if "retry-after" in framework.headers:
        assert fast.headers["retry-after"] == framework.headers["retry-after"]
    fast_body, framework_body = fast.json(), framework.json()
    if isinstance(framework_body, dict):
        assert {k: v for k, v in fast_body.items() if k not in _VARYING} == {
            k: v for k, v in framework_body.items() if k not in _VARYING
        }, path
        assert fast_body.keys() == framework_body.keys()
    return fast


async def test_ap_seed_routes_answer_like_fastapi(make_app: Any) -> None:
    ap = await make_app("ap")
    clients = _clients(ap)
    written = await _same(clients, "POST", "/write/k1/hello%20w%C3%B6rld/with/slashes")
    assert written.json()["value"] == "hello wörld/with/slashes"
    token = written.headers["x-session-token"]
    read = await _same(clients, "GET", "/read/k1", headers={"X-Session-Token": token})
    assert read.headers["x-session-token"] == token
    assert read.json()["value"] == "hello wörld/with/slashes"
    await _same(clients, "GET", "/read/never-written")
    await _same(clients, "POST", "/write/k2/")  # an empty value is a value
    assert (await _same(clients, "POST", "/write/bad%20key/v")).status_code == 400
    assert (await _same(clients, "GET", "/read/k1", headers={"X-Session-Token": "forged.token"})).status_code == 400
    for unmatched in ("/write/k3", "/read/a/b", "/write//v"):  # not the seed routes: FastAPI answers
        assert (await _same(clients, "POST" if "write" in unmatched else "GET", unmatched)).status_code in (404, 405)
    assert (await _same(clients, "GET", "/write/k/v")).status_code == 405


async def test_cp_refusal_from_the_seed_route_echoes_the_session_and_says_retry(make_app: Any) -> None:
    cp = await make_app("cp")
    clients = _clients(cp)
    await _same(clients, "POST", "/write/c/1")
    await cp.runtime.set_fault("db_g2", "drop")
    refused = await _same(clients, "POST", "/write/c/2", headers={"X-Session-Token": _token(cp)})
    assert refused.status_code == 503
    assert refused.json()["outcome"] == "not_applied"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-session-token"] == _token(cp)


def _token(running: Any) -> str:
    from capstore.session import SessionToken

    return str(running.runtime.signer.encode(SessionToken({"db_g1": "1-0"})))
