"""deploy/ is checked, not decorative: hadolint, the compose spec, kubernetes-validate, the env
example against the deploy checks, `nginx -t` plus a real nginx keeping a client on one of two
app_ap instances (session affinity), and the backup script against real redis-server nodes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from capstore.config import Settings, fault_admin_check
from capstore.node import RedisNode
from capstore.records import Record
from servicekit import CheckLevel, run_deploy_checks
from servicekit.local import NginxServer, RedisServer, free_port, nginx_main_block
from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_dockerfile_passes_hadolint_runs_as_non_root_with_a_healthcheck() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert "\nUSER 10001:10001" in text
    assert "HEALTHCHECK" in text
    assert "/health" in text
    assert 'CMD ["capstore", "serve", "--production"]' in text


def test_compose_file_matches_the_compose_spec_with_aof_and_volumes() -> None:
    result = check_compose(DEPLOY / "compose.production.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load((DEPLOY / "compose.production.yml").read_text())["services"]
    assert {"app_cp", "app_ap", "db_g1", "db_g2", "nginx"} <= set(services)
    assert services["app_cp"]["environment"]["MODE"] == "cp"
    assert services["app_ap"]["environment"]["MODE"] == "ap"
    for db in ("db_g1", "db_g2"):
        command = services[db]["command"]
        assert command[command.index("--appendonly") + 1] == "yes"
        assert services[db]["volumes"] == [f"{db}_data:/data"]
    assert services["nginx"]["ports"] == ["5001:5001", "5002:5002"]


def test_kubernetes_manifests_validate_with_a_statefulset_for_redis() -> None:
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    result = kubernetes_validate(manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    documents = [doc for path in manifests for doc in yaml.safe_load_all(Path(path).read_text())]
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}
    assert ("StatefulSet", "capstore-db") in kinds
    assert {("Deployment", "capstore-cp"), ("Deployment", "capstore-ap"), ("CronJob", "capstore-backup")} <= kinds
    statefulset = next(doc for doc in documents if doc["kind"] == "StatefulSet")
    assert statefulset["spec"]["replicas"] == 2
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "--appendonly" in statefulset["spec"]["template"]["spec"]["containers"][0]["args"]
    for mode in ("cp", "ap"):
        deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"].endswith(mode))
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["capstore", "serve", "--mode", mode, "--production"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_env_example_passes_the_deploy_checks() -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.production.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in ("NETWORK_TIMEOUT_SEC", "MAX_STALENESS_MS", "LOG_LEVEL", "RATE_LIMIT_REQUESTS", "RATE_LIMIT_WINDOW",
                 "RATE_LIMIT_PER_MINUTE", "SECRET_KEY_FILE", "ENABLE_FAULT_ADMIN"):  # fmt: skip
        assert name in env, name
    fields = {k: v for k, v in env.items() if not k.endswith("_FILE")}
    settings = Settings(_env_file=None, **fields, SECRET_KEY="Yt6!wQ1@eR8#uI3$oP5%aS9^dF2&gH7*")  # type: ignore[arg-type]
    messages = run_deploy_checks(settings, [fault_admin_check])
    assert [m for m in messages if m.level is CheckLevel.ERROR] == []
    assert settings.fault_admin_enabled is False


def _rendered_nginx(directory: Path, ports: dict[str, int], cp: str, ap: list[str]) -> str:
    block = (DEPLOY / "nginx.conf").read_text()
    assert "hash $capstore_affinity consistent;" in block
    block = (
        block.replace("server app_cp:5001;", f"server {cp};")
        .replace("server app_ap:5002;", "".join(f"server {a}; " for a in ap))
        .replace("listen 5001;", f"listen 127.0.0.1:{ports['cp']};")
        .replace("listen 5002;", f"listen 127.0.0.1:{ports['ap']};")
    )
    temp = directory / "tmp"
    return (
        nginx_main_block()
        + f"http {{\n access_log off;\n client_body_temp_path {temp}/body;\n proxy_temp_path {temp}/proxy;\n"
        + f" fastcgi_temp_path {temp}/fcgi;\n uwsgi_temp_path {temp}/uwsgi;\n scgi_temp_path {temp}/scgi;\n"
        + block
        + "\n}\n"
    )


@pytest.mark.nginx
@pytest.mark.redis
def test_nginx_config_is_valid_and_keeps_a_client_on_one_instance(threaded_app: Any, tmp_path: Path) -> None:
    cp = threaded_app("cp")
    ap = [threaded_app("ap"), threaded_app("ap")]
    nginx = NginxServer(directory=tmp_path / "nginx", config="")
    ports = {"cp": nginx.port, "ap": free_port()}
    nginx.config = _rendered_nginx(
        nginx.directory, ports, f"127.0.0.1:{cp.port}", [f"127.0.0.1:{server.port}" for server in ap]
    )
    try:
        checked = nginx.test_config()
        assert checked.returncode == 0, checked.stderr
        nginx.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['ap']}", timeout=10) as client:
            first = client.post("/write/sticky/1")
            assert first.status_code == 200
            cookie = first.cookies["capstore_affinity"]
            instance = client.get("/health").json()["app_id"]
            seen = {client.get("/health").json()["app_id"] for _ in range(10)}
            assert seen == {instance}  # the cookie keeps the client on one instance
            assert client.get("/read/sticky").json()["value"] == "1"
            assert client.cookies["capstore_affinity"] == cookie
        spread = set()
        for _ in range(24):  # new clients (no cookie) are spread over both instances
            with httpx.Client(base_url=f"http://127.0.0.1:{ports['ap']}", timeout=10) as fresh:
                spread.add(fresh.get("/health").json()["app_id"])
        assert len(spread) == 2
        assert httpx.get(f"http://127.0.0.1:{ports['cp']}/health", timeout=10).json()["mode"] == "cp"
        assert httpx.get(f"http://127.0.0.1:{ports['cp']}/metrics", timeout=10).status_code == 404
    finally:
        nginx.stop()


@pytest.mark.redis
def test_backup_script_snapshots_every_node_and_restores(redis_nodes: dict[str, Any], tmp_path: Path) -> None:
    async def fill(url: str, count: int) -> dict[str, Record]:
        node = RedisNode("db_g1", url)
        try:
            await node.config_set("repl-diskless-sync-delay", "0")  # the 5 s default only slows the test
            for i in range(count):
                await node.write(f"k{i}", Record(f"v{i}", f"{1700000000000 + i:013d}.00000000.ap"))
            return await node.snapshot()
        finally:
            await node.close()

    before = {name: asyncio.run(fill(server.url, 30 + len(name))) for name, server in redis_nodes.items()}
    nodes = " ".join(f"{name}=127.0.0.1:{server.port}" for name, server in redis_nodes.items())
    env = {**os.environ, "NODES": nodes, "BACKUP_DIR": str(tmp_path / "backups")}
    result = subprocess.run(["sh", str(DEPLOY / "backup.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("backup ok") == 2
    for name in redis_nodes:
        (snapshot,) = (tmp_path / "backups").glob(f"{name}-*.rdb")
        restored = tmp_path / f"restored-{name}"
        restored.mkdir()
        shutil.copy(snapshot, restored / "dump.rdb")
        with RedisServer(directory=restored, appendonly=False) as fresh:

            async def read_back(url: str) -> dict[str, Record]:
                node = RedisNode("db_g1", url)
                try:
                    return await node.snapshot()
                finally:
                    await node.close()

            assert asyncio.run(read_back(fresh.url)) == before[name]
    env["NODES"] = "db_g1=127.0.0.1:1"
    failed = subprocess.run(["sh", str(DEPLOY / "backup.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert "backup FAILED db_g1" in failed.stderr
    assert not list((tmp_path / "backups").glob("*.partial"))
