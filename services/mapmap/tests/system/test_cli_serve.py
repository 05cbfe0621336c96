"""`mapmap serve --host H --port P` as the fleet runs it: the embedded default (in-process demo
upstream) serves passthrough and reprojected tiles and the demo page with no configuration at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx


def test_serve_with_embedded_defaults(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as client:
        assert client.get("/health").json()["cache_size"] == 0
        assert client.get("/ready").status_code == 200
        passthrough = client.get("/tiles/demo/7/72/37.png")
        reprojected = client.get("/tiles/demo-lks92/7/72/37.png")
        assert passthrough.status_code == reprojected.status_code == 200
        assert passthrough.content.startswith(b"\x89PNG")
        assert reprojected.content.startswith(b"\x89PNG")
        assert client.get("/health").json()["cache_size"] == 2
        assert client.get("/demo/").status_code == 200
        metrics = client.get("/metrics").text
        assert "mapmap_cache_misses_total" in metrics


def test_check_deploy_refuses_unsafe_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ADMIN_TOKEN")}
    env |= {"ALLOWED_ORIGINS": "*", "ADMIN_TOKEN": "short"}
    result = subprocess.run(
        [sys.executable, "-m", "mapmap.cli", "check", "--deploy"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "SK.E001" in result.stdout  # no SECRET_KEY
    assert "SK.E002" in result.stdout  # '*' origins
    assert "MM.E001" in result.stdout  # short admin token
