"""deploy/ is checked, not decorative: hadolint, the compose spec, kubernetes-validate, the deploy checks
on the example env, and nginx.conf run for real in front of the app (10 MB limit, rate limit, /health)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from dot2archimate.config import Settings, web_checks
from servicekit import run_deploy_checks
from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_dockerfile_passes_hadolint() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert "HEALTHCHECK" in text
    assert "\nUSER 10001:10001" in text
    assert "install -y --no-install-recommends graphviz" in text
    assert 'CMD ["dot2archimate", "serve", "--production"]' in text


def test_compose_file_matches_the_compose_spec() -> None:
    result = check_compose(DEPLOY / "compose.production.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.production.yml").read_text())
    app = compose["services"]["dot2archimate"]
    assert app["environment"]["SESSION_BACKEND"] == "redis"
    assert app["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "redis" in compose["services"]
    assert "no-new-privileges:true" in app["security_opt"]


def test_kubernetes_manifests_validate_and_probe() -> None:
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    result = kubernetes_validate(manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = yaml.safe_load((DEPLOY / "k8s" / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    config = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())["data"]
    assert config["SESSION_BACKEND"] == "redis"
    from dot2archimate.web.legal import LegalSettings

    LegalSettings.model_validate(yaml.safe_load(config["legal_settings.yaml"]))


def test_env_example_passes_the_deploy_checks(tmp_path: Path) -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.production.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in ("SECRET_KEY_FILE", "DEBUG", "LOG_LEVEL", "HOST", "PORT", "GUNICORN_WORKERS", "GUNICORN_THREADS",
                 "SESSION_BACKEND", "REDIS_URL", "MAX_UPLOAD_MB", "LEGAL_SETTINGS_FILE"):  # fmt: skip
        assert name in env, name
    legal = tmp_path / "legal_settings.yaml"
    shutil.copy(DEPLOY / "legal_settings.example.yaml", legal)
    fields = {k: v for k, v in env.items() if not k.endswith("_FILE")}
    settings = Settings(**fields, SECRET_KEY="Zq8#mK2$vL9@pX4!rT7%wY1^bN6&cF3*", LEGAL_SETTINGS_FILE=legal)  # type: ignore[arg-type]
    assert (settings.WORKERS, settings.GUNICORN_THREADS, settings.PORT) == (4, 2, 5000)
    messages = run_deploy_checks(settings, [web_checks])
    assert [m for m in messages if m.level == "ERROR"] == []
    from dot2archimate.web.legal import load_legal_settings

    assert load_legal_settings(legal).imprint.title == "Imprint"


class _Server:
    """The app under a real uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn
        from servicekit.local import free_port

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _rendered_nginx(directory: Path, nginx_port: int, app_port: int) -> str:
    from servicekit.local import nginx_main_block

    block = (DEPLOY / "nginx.conf").read_text()
    block = block.replace("server dot2archimate:5000;", f"server 127.0.0.1:{app_port};")
    block = block.replace("listen 80;", f"listen 127.0.0.1:{nginx_port};")
    temp = directory / "tmp"
    return (
        nginx_main_block()
        + f"http {{\n access_log logs/access.log;\n client_body_temp_path {temp}/body;\n"
        + f" proxy_temp_path {temp}/proxy;\n fastcgi_temp_path {temp}/fcgi;\n uwsgi_temp_path {temp}/uwsgi;\n"
        + f" scgi_temp_path {temp}/scgi;\n{block}\n}}\n"
    )


@pytest.fixture
def behind_nginx(web_settings: Any, tmp_path: Path) -> Iterator[str]:
    from dot2archimate.app import create_app
    from servicekit.local import NginxServer

    with _Server(create_app(web_settings())) as app:
        nginx = NginxServer(directory=tmp_path / "nginx", config="")
        nginx.config = _rendered_nginx(nginx.directory, nginx.port, app.port)
        checked = nginx.test_config()
        assert checked.returncode == 0, checked.stderr
        nginx.start()
        try:
            yield nginx.url
        finally:
            nginx.stop()


@pytest.mark.nginx
@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_limits_uploads_and_rate_but_not_health(behind_nginx: str) -> None:
    with httpx.Client(base_url=behind_nginx, timeout=30) as client:
        home = client.get("/")
        assert home.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)[1]  # type: ignore[index]
        posted = client.post("/convert", data={"csrf_token": token}, files={"file": ("g.dot", b"digraph { a -> b }")})
        assert posted.status_code == 303  # through the proxy: cookies, CSRF and forwarding work
        assert client.get(posted.headers["location"]).status_code == 200
        big = client.post(
            "/convert", data={"csrf_token": token}, files={"file": ("big.dot", b"a" * (11 * 1024 * 1024))}
        )
        assert big.status_code == 413
        assert "nginx" in big.text  # refused by the proxy before the app
        statuses = [client.get("/").status_code for _ in range(60)]
        assert 429 in statuses
        assert client.get("/metrics").status_code == 404
        health = [client.get("/health") for _ in range(60)]
        assert {r.status_code for r in health} == {200}
        assert health[-1].json()["storage"] == "accessible"
