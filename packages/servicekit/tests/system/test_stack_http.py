"""The servicekit stack around a FastAPI app and a Django ASGI app, checked through real HTTP."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

FLAVOURS = ["fastapi", "django"]


def metric_value(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_oversize_body_is_refused_with_413_before_the_app(start_service, flavour: str) -> None:
    service = start_service(flavour, MAX_REQUEST_SIZE_MB="0.01")  # 10 KiB
    with service.client() as client:
        assert client.post("/upload", content=b"x" * 5000).json() == {"received": 5000}
        declared = client.post("/upload", content=b"x" * 20_000)
        assert declared.status_code == 413
        assert declared.json()["error"] == "request_too_large"

        def chunks():
            for _ in range(40):
                yield b"y" * 1000

        chunked = client.post("/upload", content=chunks())
        assert chunked.status_code == 413


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_bad_host_gets_400_while_probes_still_answer(start_service, flavour: str) -> None:
    service = start_service(flavour)
    with service.client() as client:
        bad = client.get("/items/1", headers={"Host": "evil.example"})
        assert bad.status_code == 400
        assert bad.json() == {"error": "invalid_host", "detail": "Invalid Host header"}
        probe = client.get("/health", headers={"Host": "10.1.2.3:8000"})  # kubelet probes by pod IP
        assert probe.status_code == 200
        assert probe.headers["content-type"] == "application/health+json"
        assert probe.headers["cache-control"] == "no-store"
        assert probe.json()["status"] == "pass"
        assert client.get("/items/7").json() == {"item_id": 7}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_cors_allows_listed_origins_only_and_never_reflects_with_credentials(start_service, flavour: str) -> None:
    service = start_service(flavour, ALLOWED_ORIGINS="https://maps.example.org", CORS_ALLOW_CREDENTIALS="true")
    preflight = {"Access-Control-Request-Method": "GET"}
    with service.client() as client:
        refused = client.options("/items/1", headers={"Origin": "https://evil.example", **preflight})
        assert refused.status_code == 400
        assert "not allowed" in refused.json()["detail"]
        assert "access-control-allow-origin" not in refused.headers
        allowed = client.options("/items/1", headers={"Origin": "https://maps.example.org", **preflight})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == "https://maps.example.org"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        simple = client.get("/items/1", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        listed = client.get("/items/1", headers={"Origin": "https://maps.example.org"})
        assert listed.headers["access-control-allow-origin"] == "https://maps.example.org"
        assert listed.headers["vary"] == "Origin"


def test_wildcard_origin_is_literal_and_drops_credentials(start_service) -> None:
    service = start_service(ALLOWED_ORIGINS="*", CORS_ALLOW_CREDENTIALS="true")
    with service.client() as client:
        response = client.get("/items/1", headers={"Origin": "https://anyone.example"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_security_headers_and_request_id(start_service, flavour: str) -> None:
    service = start_service(flavour)
    with service.client() as client:
        response = client.get("/items/3", headers={"X-Request-ID": "trace-abc.123"})
        assert response.headers["x-request-id"] == "trace-abc.123"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "server" not in response.headers
        for hostile_id in ("<script>alert(1)</script>", "a" * 500, "id with spaces"):
            replaced = client.get("/items/3", headers={"X-Request-ID": hostile_id}).headers["x-request-id"]
            assert replaced != hostile_id
            assert len(replaced) == 32  # a fresh uuid4 hex


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_rate_limit_answers_429_with_every_header(start_service, flavour: str) -> None:
    service = start_service(flavour, RATE_LIMIT_ENABLED="true", RATE_LIMIT_REQUESTS="3", RATE_LIMIT_WINDOW="60",
                            RATE_LIMIT_IETF_HEADERS="true")  # fmt: skip
    with service.client() as client:
        statuses = [client.get("/items/1").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = client.get("/items/1")
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert limited.headers["x-ratelimit-limit"] == "3"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) > 1_700_000_000
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["ratelimit-policy"] == '"default";q=3;w=60'
        assert limited.headers["ratelimit"].startswith('"default";r=0;t=')
        for _ in range(5):  # probes are never limited
            assert client.get("/health").status_code == 200
        metrics = client.get("/metrics").text
        assert metric_value(metrics, "sample_rate_limited_total", {}) == 1


@pytest.mark.redis
def test_limits_are_shared_across_processes_through_redis(start_service, redis_server) -> None:
    env = {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS": "4", "RATE_LIMIT_WINDOW": "60",
           "REDIS_URL": redis_server.url}  # fmt: skip
    first, second = start_service(**env), start_service(**env)
    with first.client() as a, second.client() as b:
        statuses = [(a if i % 2 == 0 else b).get("/items/1").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.redis
def test_rate_limiter_fails_open_when_redis_dies_and_counts_it(start_service, redis_server) -> None:
    service = start_service(RATE_LIMIT_ENABLED="true", RATE_LIMIT_REQUESTS="100", REDIS_URL=redis_server.url)
    with service.client() as client:
        assert client.get("/items/1").status_code == 200
        assert client.get("/ready").status_code == 200
        redis_server.kill()
        after = [client.get("/items/1") for _ in range(3)]
        assert [response.status_code for response in after] == [200, 200, 200]
        assert "x-ratelimit-limit" not in after[0].headers
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"][0]["status"] == "fail"
        metrics = client.get("/metrics").text
        assert metric_value(metrics, "sample_rate_limit_storage_errors_total", {}) == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_metrics_count_requests_by_route_template(start_service, flavour: str) -> None:
    service = start_service(flavour)
    with service.client() as client:
        for item in range(5):
            client.get(f"/items/{item}")
        for junk in range(4):
            client.get(f"/no/such/path/{junk}")
        client.post("/upload", content=b"abc")
        text = client.get("/metrics").text
    template = "/items/{item_id}" if flavour == "fastapi" else "/items/<int:item_id>"
    assert metric_value(text, "sample_requests_total", {"endpoint": template, "method": "GET", "status": "200"}) == 5
    unmatched = {"endpoint": "<unmatched>", "method": "GET", "status": "404"}
    assert metric_value(text, "sample_requests_total", unmatched) == 4
    assert metric_value(text, "sample_requests_total", {"endpoint": "/upload", "method": "POST"}) == 1
    assert metric_value(text, "sample_request_duration_seconds_count", {"endpoint": template}) == 5
    assert "/no/such/path" not in text  # raw paths never become labels
    assert "/health" not in text  # probes are answered before the metrics layer
