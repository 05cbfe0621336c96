"""deploy/: Dockerfile (hadolint, non-root, HEALTHCHECK), compose (compose-spec schema), Kubernetes
(kubernetes-validate --strict), nginx.conf (`nginx -t`, then a real proxy with WebSocket upgrade),
.env.production.example (every key is a setting; no secret values)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from servicekit.local import NginxServer, free_port, nginx_main_block
from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate
from spoton.config import Settings
from websockets.asyncio.client import connect

from ..api.test_websocket import served

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_dockerfile_passes_hadolint_and_runs_as_non_root() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in text


def test_compose_file_matches_the_compose_spec() -> None:
    result = check_compose(DEPLOY / "compose.production.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.production.yml").read_text())
    api = compose["services"]["spoton"]
    assert api["deploy"]["resources"]["limits"]["memory"] == "4G"
    assert "healthcheck" in api
    assert all(key.endswith("_FILE") for key in api["environment"])  # secrets only as files
    assert {"postgres", "redis", "objectstore", "nginx"} <= set(compose["services"])
    worker = compose["services"]["worker"]
    assert worker["command"] == ["spoton", "worker"]
    assert all(key.endswith("_FILE") for key in worker["environment"])


def test_kubernetes_manifests_validate_strictly() -> None:
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    result = kubernetes_validate(manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = yaml.safe_load((DEPLOY / "k8s" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container)
    worker = yaml.safe_load((DEPLOY / "k8s" / "worker-deployment.yaml").read_text())
    worker_pod = worker["spec"]["template"]["spec"]
    assert worker_pod["securityContext"]["runAsNonRoot"] is True
    assert worker_pod["containers"][0]["command"] == ["spoton", "worker"]


def test_env_example_names_only_real_settings_and_holds_no_secrets() -> None:
    pairs = [
        line.split("=", 1)
        for line in (DEPLOY / ".env.production.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    fields = set(Settings.model_fields)
    assert [key for key, _ in pairs if key not in fields] == []
    secret_fields = {name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert [key for key, _ in pairs if key in secret_fields] == []
    settings = Settings(_env_file=DEPLOY / ".env.production.example")
    assert settings.PRODUCTION_MODE is True
    assert settings.PORT == 8002


def _nginx_config(tmp_path: Path, backend_port: int, listen_port: int) -> str:
    """The deploy file with the upstream, ports and certificates made local; otherwise unchanged."""
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    conf = (DEPLOY / "nginx.conf").read_text()
    conf = conf.replace("server spoton:8002;", f"server 127.0.0.1:{backend_port};")
    redirect_port = free_port()
    while redirect_port in (listen_port, backend_port):  # free_port may hand out a port twice before binding
        redirect_port = free_port()
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{redirect_port};")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen_port} ssl http2;")
    conf = conf.replace("/etc/nginx/certs/tls.crt", str(cert)).replace("/etc/nginx/certs/tls.key", str(key))
    return nginx_main_block() + "http {\n" + conf + "\n}\n"


@pytest.mark.nginx
def test_nginx_conf_is_valid(tmp_path: Path) -> None:
    server = NginxServer(tmp_path / "nginx", _nginx_config(tmp_path, free_port(), free_port()))
    result = server.test_config()
    assert result.returncode == 0, result.stderr


@pytest.mark.nginx
async def test_nginx_proxies_http_and_websocket_upgrades(service, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:  # pragma: no cover - openssl ships with Debian
        pytest.fail("openssl is needed to make a test certificate")
    async with served(service.app) as ws_base:
        backend_port = int(ws_base.rsplit(":", 1)[1])
        listen = free_port()
        with NginxServer(tmp_path / "nginx", _nginx_config(tmp_path, backend_port, listen), port=listen):
            async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{listen}", verify=False) as client:  # noqa: S501
                health = await client.get("/health")
                assert health.status_code == 200
                assert health.json()["service"] == "spoton"
                assert health.headers["strict-transport-security"].startswith("max-age=")
                denied = await client.get("/api/v1/tasks")
                assert denied.status_code == 401, denied.text
            r = await service.client.post(
                f"{service.prefix}/tasks", json={"source": "synthetic", "cameras": ["cam_b"], "num_frames": 3},
                headers=service.auth("operator"),
            )  # fmt: skip
            task_id = r.json()["id"]
            import ssl

            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            url = f"wss://127.0.0.1:{listen}/ws/tracking/{task_id}?token={service.tokens['viewer']}"
            async with connect(url, ssl=context) as ws:
                kinds = [json.loads(m)["type"] async for m in ws]
            assert kinds[0] == "hello"
            assert kinds[-1] == "end"
