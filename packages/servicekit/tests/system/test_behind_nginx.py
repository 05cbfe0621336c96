"""A real nginx, configured by servicekit.nginx, in front of a servicekit service."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from servicekit.local import NginxServer, free_port
from servicekit.nginx import render_reverse_proxy

pytestmark = pytest.mark.nginx


def nginx_for(upstream: str, tmp_path: Path) -> NginxServer:
    port = free_port()
    return NginxServer(tmp_path / "nginx", render_reverse_proxy(listen_port=port, upstream=upstream), port=port)


def test_generated_config_passes_nginx_t(tmp_path: Path) -> None:
    result = nginx_for("http://127.0.0.1:9", tmp_path).test_config()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_requests_pass_through_with_headers_intact(start_service, tmp_path: Path) -> None:
    service = start_service(RATE_LIMIT_ENABLED="true", RATE_LIMIT_REQUESTS="2", RATE_LIMIT_WINDOW="60")
    with nginx_for(service.url, tmp_path) as nginx:
        first = httpx.get(f"{nginx.url}/items/5", headers={"X-Request-ID": "via-nginx-1"})
        assert first.json() == {"item_id": 5}
        assert first.headers["x-request-id"] == "via-nginx-1"
        assert first.headers["x-content-type-options"] == "nosniff"
        assert first.headers["x-ratelimit-limit"] == "2"
        assert first.headers["server"] == "nginx"  # nginx's own, versionless (server_tokens off)
        generated = httpx.get(f"{nginx.url}/items/5")
        assert len(generated.headers["x-request-id"]) == 32  # nginx's $request_id, kept by the app
        # nginx is a trusted proxy, so the limiter keys on the forwarded client address (on loopback
        # the test client is itself a trusted hop, so the address it forwards counts as the client).
        other = httpx.get(f"{nginx.url}/items/5", headers={"X-Forwarded-For": "203.0.113.9"})
        assert other.status_code == 200
        assert httpx.get(f"{nginx.url}/items/5").status_code == 429


def test_sse_is_not_buffered_by_nginx(start_service, tmp_path: Path) -> None:
    service = start_service(SSE_INTERVAL="0.3")
    with nginx_for(service.url, tmp_path) as nginx, httpx.stream("GET", f"{nginx.url}/events", timeout=10) as response:
        arrivals = []
        started = time.monotonic()
        for line in response.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - started)
            if len(arrivals) == 3:
                break
    # Buffered, nothing would arrive until nginx's buffer filled (hundreds of events later).
    assert arrivals[0] < 1.0
    assert arrivals[2] - arrivals[0] >= 0.4  # events arrive one by one, as they are produced
