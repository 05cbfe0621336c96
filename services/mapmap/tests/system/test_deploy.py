"""The deploy/ folder is checked, not decorative: hadolint, compose-spec schema, kubernetes-validate,
`nginx -t`, and a real nginx in front of MapMap answering a tile from its cache (HIT)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from mapmap.app import create_app
from mapmap.config import Settings
from servicekit import run_deploy_checks
from servicekit.local import NginxServer, nginx_main_block
from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate

from ..conftest import ThreadedServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_dockerfile_passes_hadolint() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert "HEALTHCHECK" in text
    assert "\nUSER 10001:10001" in text


def test_compose_file_matches_the_compose_spec() -> None:
    result = check_compose(DEPLOY / "compose.production.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.production.yml").read_text())
    assert compose["services"]["mapmap"]["deploy"]["resources"]["limits"]["memory"] == "512M"
    assert compose["services"]["mapmap"]["environment"]["CACHE_BACKEND"] == "redis"
    assert "redis" in compose["services"]


def test_kubernetes_manifests_validate_and_probe() -> None:
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    result = kubernetes_validate(manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = yaml.safe_load((DEPLOY / "k8s" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["resources"]["limits"]["memory"] == "512Mi"


def test_env_example_passes_the_deploy_checks(tmp_path: Path) -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.production.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in ("LOG_LEVEL", "CACHE_SIZE", "CACHE_TTL", "ALLOWED_ORIGINS", "ALLOWED_HOSTS", "RATE_LIMIT_ENABLED",
                 "RATE_LIMIT_REQUESTS", "RATE_LIMIT_WINDOW", "ENABLE_METRICS"):  # fmt: skip
        assert name in env, name
    secrets = {"SECRET_KEY": "k9!QzP2#vL7@wX4$rT8%yU1^bN6&mC3*", "ADMIN_TOKEN": "a" + "7f3c9e1b5d" * 4}
    fields = {k: v for k, v in env.items() if not k.endswith("_FILE")}
    settings = Settings(**fields, **secrets)  # type: ignore[arg-type]
    errors = [m for m in run_deploy_checks(settings, []) if m.level == "ERROR"]
    assert errors == []


def _rendered_nginx(directory: Path, nginx_port: int, mapmap_port: int) -> str:
    server_block = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_cache_lock on;" in server_block
    assert "proxy_cache_use_stale" in server_block
    server_block = (
        server_block.replace("server mapmap:8000;", f"server 127.0.0.1:{mapmap_port};")
        .replace("/var/cache/nginx/mapmap", str(directory / "cache"))
        .replace("listen 80;", f"listen 127.0.0.1:{nginx_port};")
    )
    temp = directory / "tmp"
    return (
        nginx_main_block()
        + f"http {{\n access_log off;\n client_body_temp_path {temp}/body;\n proxy_temp_path {temp}/proxy;\n"
        + f" fastcgi_temp_path {temp}/fcgi;\n uwsgi_temp_path {temp}/uwsgi;\n scgi_temp_path {temp}/scgi;\n"
        + server_block
        + "\n}\n"
    )


@pytest.mark.nginx
def test_nginx_config_is_valid_and_serves_cache_hits(tmp_path: Path) -> None:
    app = create_app(Settings(ENABLE_REQUEST_LOGGING=False))
    mapmap = ThreadedServer(app).start()
    nginx = NginxServer(directory=tmp_path / "nginx", config="")
    nginx.config = _rendered_nginx(nginx.directory, nginx.port, mapmap.port)
    try:
        checked = nginx.test_config()
        assert checked.returncode == 0, checked.stderr
        nginx.start()
        with httpx.Client(base_url=nginx.url, timeout=30) as client:
            first = client.get("/tiles/demo/6/36/19.png")
            second = client.get("/tiles/demo/6/36/19.png", params={"cachebust": "1"})
            assert first.status_code == second.status_code == 200
            assert first.headers["x-cache-status"] == "MISS"
            assert second.headers["x-cache-status"] == "HIT"
            assert second.content == first.content
            assert client.get("/metrics").status_code == 404
        metrics = httpx.get(f"{mapmap.url}/metrics").text
        assert 'mapmap_cache_misses_total{endpoint="demo"} 1.0' in metrics
        assert 'mapmap_cache_hits_total{endpoint="demo"}' not in metrics  # nginx answered the second one
    finally:
        nginx.stop()
        mapmap.stop()
