"""Redis sessions shared by two app instances (replicas), Redis failing under the app, and the
`dot2archimate serve` / `check --deploy` commands as the fleet runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.redis
async def test_redis_sessions_are_shared_by_replicas_and_fail_closed(web_settings: Any, redis_server: Any,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    from dot2archimate.app import create_app

    settings = dict(SESSION_BACKEND="redis", REDIS_URL=redis_server.url)
    one = create_app(web_settings(**settings, DATA_DIR=tmp_path / "one"))
    two = create_app(web_settings(**settings, DATA_DIR=tmp_path / "two"))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://127.0.0.1") as first,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://127.0.0.1") as second,
    ):
        token = CSRF.search((await first.get("/")).text)[1]  # type: ignore[index]
        posted = await first.post("/convert", data={"csrf_token": token, "text": "digraph r { a -> b }"})
        assert posted.status_code == 303
        url = posted.headers["location"]
        second.cookies.update(first.cookies)  # the same browser, load-balanced to the other replica
        assert (await second.get(url)).status_code == 200
        assert (await second.get(f"{url}/files/model.xml")).content.startswith(b"<?xml")
        # outputs live in Redis with the session's TTL: neither replica's DATA_DIR holds any, so DATA_DIR
        # need not be a shared volume
        assert [p for d in ("one", "two") for p in (tmp_path / d).rglob("*") if p.is_file()] == []
        import redis as redis_sync

        with redis_sync.Redis.from_url(redis_server.url) as client:
            file_keys = list(client.scan_iter("d2a:file:*"))
            assert len(file_keys) >= 5  # xml, archimate, csv zip, report, explain, views
            assert all(0 < client.ttl(k) <= 3600 for k in file_keys)
        assert (await second.get("/ready")).json()["checks"]["storage"][0]["backend"] == "redis"

        redis_server.kill()
        ready = await second.get("/ready")
        assert ready.status_code == 503
        health = (await second.get("/health")).json()
        assert health["storage"] == "inaccessible"
        failed = await second.post("/convert", data={"csrf_token": token, "text": "digraph { a }"})
        assert failed.status_code == 503
        assert "storage_unavailable" in failed.text
        home = await second.get("/")  # the form still renders, with a notice instead of the history
        assert home.status_code == 200
        assert "session storage is unavailable" in home.text


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    from servicekit.local import free_port, wait_for_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "SECRET_KEY", "DATA_DIR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "dot2archimate.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_with_embedded_defaults(served: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=served, timeout=60) as client:
        health = client.get("/health").json()
        assert (health["status"], health["storage"]) == ("healthy", "accessible")
        home = client.get("/")
        assert home.status_code == 200
        assert client.get("/docs").status_code == 200
        token = CSRF.search(home.text)[1]  # type: ignore[index]
        posted = client.post("/convert", data={"csrf_token": token}, files={"file": ("g.dot", b"digraph g { a -> b }")})
        assert posted.status_code == 303
        assert client.get(posted.headers["location"]).status_code == 200
    # embedded default: sessions and outputs under .data/dot2archimate in the working directory
    assert list((tmp_path / ".data" / "dot2archimate" / "sessions").rglob("model.xml"))


def test_check_deploy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "REDIS_URL")}
    bad = subprocess.run(
        [sys.executable, "-m", "dot2archimate.cli", "check", "--deploy"],
        cwd=tmp_path, env={**env, "SESSION_BACKEND": "redis", "DEBUG": "true"}, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1
    for check_id in ("SK.E001", "SK.E005", "D2A.E001", "D2A.W002"):
        assert check_id in bad.stdout, check_id
    legal = tmp_path / "legal.yaml"
    legal.write_text("footer: Example\n")
    good = subprocess.run(
        [sys.executable, "-m", "dot2archimate.cli", "check", "--deploy"], cwd=tmp_path,
        env={**env, "SECRET_KEY": "Zq8#mK2$vL9@pX4!rT7%wY1^bN6&cF3*", "LEGAL_SETTINGS_FILE": str(legal),
             "ALLOWED_HOSTS": "archimate.example.org"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    assert "no deployment issues found" in good.stdout


def test_convert_commands_do_not_load_the_web_stack() -> None:
    probe = "import sys, dot2archimate.cli; print(sorted(m for m in ('servicekit', 'fastapi') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_production_serve_under_gunicorn_shares_file_sessions_between_workers(tmp_path: Path) -> None:
    from servicekit.local import free_port, wait_for_port

    port = free_port()
    legal = tmp_path / "legal.yaml"
    legal.write_text("footer: Example operator\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "DATA_DIR", "REDIS_URL")}
    env |= {"SECRET_KEY": "Zq8#mK2$vL9@pX4!rT7%wY1^bN6&cF3*", "GUNICORN_WORKERS": "2",
            "LEGAL_SETTINGS_FILE": str(legal), "ALLOWED_HOSTS": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "dot2archimate.cli", "serve", "--production", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        home = httpx.get(f"{base}/", timeout=60)
        assert "Example operator" in home.text
        set_cookie = home.headers["set-cookie"]
        assert "Secure" in set_cookie  # production default (TLS ends at the proxy); sent by hand below over http
        cookie = {"cookie": set_cookie.split(";")[0]}
        token = CSRF.search(home.text)[1]  # type: ignore[index]
        posted = httpx.post(f"{base}/convert", data={"csrf_token": token, "text": "digraph p { a -> b }"},
                            headers=cookie, timeout=60)  # fmt: skip
        assert posted.status_code == 303
        url = posted.headers["location"]
        # new connections land on either worker: each must find the session (no per-process state)
        for _ in range(8):
            assert httpx.get(f"{base}{url}", headers=cookie, timeout=30).status_code == 200
        assert httpx.get(f"{base}{url}", timeout=30).status_code == 404  # and nobody else does
    finally:
        process.terminate()
        process.wait(timeout=30)
