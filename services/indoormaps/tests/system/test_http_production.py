"""Production serving: gunicorn with two uvicorn workers streams and routes, metrics aggregate across
workers, and unsafe settings stop the start with the check's id."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import httpx
import pytest
from indoormaps_http_support import TEST_SECRET, Service, SseReader, cli_binary

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_gunicorn_workers_serve_streams(http_dsn: str, service_factory: Callable[..., Service], tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = service_factory(
        http_dsn, PRODUCTION_MODE="true", WORKERS="2", ALLOWED_HOSTS="127.0.0.1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )  # fmt: skip
    for _ in range(4):  # several connections: both workers take some
        ids: list[str] = []
        with httpx.stream("GET", f"{service.url}/api/rooms/?batch_size=200", timeout=30) as response:
            for event in SseReader(response.iter_lines()):
                if event.event == "batch":
                    ids += [f["id"] for f in event.json()["features"]]
        assert len(ids) == len(set(ids)) == 443
    assert httpx.get(f"{service.url}/api/health/").json() == {"ok": True}
    # Host header checks are on in production: an unknown host is refused before Django.
    assert httpx.get(f"{service.url}/api/layers/", headers={"Host": "evil.example"}).status_code == 400
    metrics = httpx.get(f"{service.url}/metrics").text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('indoormaps_stream_features_total{layer="rooms"}')
    )
    assert total >= 4 * 443


def test_production_refuses_unsafe_settings(http_dsn: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CONN_"))},
        "DATABASE_URL": http_dsn,
        "SECRET_KEY": TEST_SECRET,
        "PRODUCTION_MODE": "true",
        "CONN_MAX_AGE": "600",
    }
    result = subprocess.run(
        [cli_binary(), "serve", "--port", "1"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "IM.E001" in result.stderr
