"""deploy/: nginx config runs and streams, Dockerfile lints clean, compose and k8s manifests validate
offline, and the pg_dump/pg_restore backup script passes a restore drill."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest
from indoormaps_http_support import Service, SseReader, cli_binary
from servicekit.local import NginxServer, free_port, nginx_main_block
from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_TEMP_PATHS = "".join(
    f"    {kind}_temp_path tmp/{kind.split('_')[0]};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
)


def _nginx_config(listen_port: int, upstream_port: int) -> str:
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("server indoormaps:8001;", f"server 127.0.0.1:{upstream_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    return nginx_main_block() + "http {\n    access_log logs/access.log;\n" + _TEMP_PATHS + site + "}\n"


@pytest.mark.nginx
def test_nginx_conf_is_valid_and_keeps_sse_unbuffered(tmp_path: Path) -> None:
    server = NginxServer(tmp_path / "nginx", _nginx_config(free_port(), 8001))
    result = server.test_config()
    assert result.returncode == 0, result.stderr
    site = (DEPLOY / "nginx.conf").read_text()
    sse_locations = re.findall(r"location ~ \^/api/[^{]+\{[^}]+\}", site)
    assert len(sse_locations) == 2
    for block in sse_locations:
        assert "proxy_buffering off;" in block
        assert "proxy_cache off;" in block
        assert "proxy_read_timeout 3600s;" in block


@pytest.mark.nginx
@pytest.mark.postgres
def test_streams_and_probes_through_nginx(tmp_path: Path, service: Service) -> None:
    port = free_port()
    upstream = int(service.url.rsplit(":", 1)[1])
    with NginxServer(tmp_path / "nginx", _nginx_config(port, upstream), port=port) as nginx:
        assert httpx.get(f"{nginx.url}/api/health/").json() == {"ok": True}
        ids: list[str] = []
        with httpx.stream("GET", f"{nginx.url}/api/rooms/?batch_size=100", timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for event in SseReader(response.iter_lines()):
                if event.event == "batch":
                    ids += [f["id"] for f in event.json()["features"]]
        assert len(ids) == len(set(ids)) == 443
        page = httpx.get(f"{nginx.url}/ogc/collections/rooms/items", params={"limit": 2}).json()
        next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
        assert next_link.startswith(f"http://127.0.0.1:{port}/")  # links name the proxy's address


def test_dockerfile_lints_clean() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text
    assert "libgdal32" in text


def test_compose_validates_against_the_vendored_compose_spec() -> None:
    result = check_compose(DEPLOY / "compose.production.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = (DEPLOY / "compose.production.yml").read_text()
    assert "POOL_MODE: transaction" in compose


def test_k8s_manifests_validate() -> None:
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    assert len(manifests) >= 4
    result = kubernetes_validate(manifests, "-k", "1.31.0")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.postgres
def test_backup_restore_drill(postgres_server, http_dsn: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert shutil.which("pg_dump")
    assert shutil.which("pg_restore")
    script = str(DEPLOY / "backup.sh")
    dump = tmp_path / "indoormaps.dump"
    made = subprocess.run([script, "dump", http_dsn, str(dump)], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 100_000
    assert not (tmp_path / "indoormaps.dump.partial").exists()
    postgres_server.psql("DROP DATABASE IF EXISTS indoormaps_restored")
    target = postgres_server.create_database("indoormaps_restored")
    restored = subprocess.run([script, "restore", str(dump), target], capture_output=True, text=True, check=False)
    assert restored.returncode == 0, restored.stderr

    def snapshot(dsn: str) -> dict[str, object]:
        with psycopg.connect(dsn) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'indoor%%' "
                "ORDER BY 1").fetchall()]  # fmt: skip
            counts: dict[str, object] = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]  # noqa: S608
                for t in tables
            }
            counts["current"] = conn.execute(
                "SELECT source_sha256 FROM indoor_data_version WHERE is_current"
            ).fetchone()
            counts["route"] = conn.execute(  # pgRouting works on the restored graph
                "SELECT count(*) FROM pgr_connectedComponents('SELECT id, source_id AS source, target_id AS target, "
                "cost_s AS cost, reverse_cost_s AS reverse_cost FROM indoor_nav_edge')"
            ).fetchone()
        return counts

    original, copy = snapshot(http_dsn), snapshot(target)
    assert original == copy
    assert int(copy["indoor_unit"]) > 0  # type: ignore[call-overload]
    # The restored database is a working indoormaps database: nothing to migrate, data current.
    again = subprocess.run([cli_binary(), "demo-data", "--database-url", target], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "already current" in again.stdout
    broken = subprocess.run([script, "restore", str(tmp_path / "missing.dump"), target], capture_output=True, text=True)
    assert broken.returncode == 2
