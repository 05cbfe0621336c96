"""The console script: `capstore serve --mode cp|ap --host H --port P` exactly as the fleet runs it,
the console's same-origin forward to the other app, `check --deploy`, and `capstore backup` with a
restore into a fresh node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from capstore.node import RedisNode
from servicekit.local import RedisServer

pytestmark = pytest.mark.redis


def _capstore(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capstore.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_serve_both_modes_and_the_console_forward(served_pair: Any) -> None:
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{served_pair.cp}/health").json()["mode"] == "cp"
        assert client.get(f"{served_pair.ap}/health").json()["mode"] == "ap"
        assert client.post(f"{served_pair.cp}/write/fleet/cp-value").status_code == 200
        written = client.post(f"{served_pair.ap}/write/fleet/ap-value")
        assert written.json()["mode"] == "ap"
        token = written.headers["x-session-token"]
        assert client.get(f"{served_pair.cp}/read/fleet").json()["value"] == "cp-value"
        # the console page, and the other app through the page's own origin
        page = client.get(f"{served_pair.cp}/console/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'src="static/console.js"' in page.text
        assert client.get(f"{served_pair.cp}/console/static/console.js").status_code == 200
        through = client.get(f"{served_pair.cp}/console/peer/read/fleet", headers={"X-Session-Token": token})
        assert through.status_code == 200
        assert (through.json()["mode"], through.json()["value"]) == ("ap", "ap-value")
        assert through.headers["x-session-token"] == token
        assert client.get(f"{served_pair.cp}/console/peer/cluster").json()["mode"] == "ap"
        assert client.get(f"{served_pair.ap}/console/peer/cluster").json()["mode"] == "cp"
        fault = client.post(f"{served_pair.cp}/console/peer/admin/faults/db_g2", json={"mode": "delay", "delay_ms": 5})
        assert fault.status_code == 200
        assert client.get(f"{served_pair.ap}/admin/faults").json()["nodes"]["db_g2"]["mode"] == "delay"
        # only capstore's own routes are forwarded, never the peer's console (no loops) or anything else
        for path in ("console/", "console/peer/cluster", "metrics", "docs", "admin/../metrics", "kv/a b"):
            refused = client.get(f"{served_pair.cp}/console/peer/{path}")
            assert refused.status_code == 404, path
    logs = [json.loads(line) for line in served_pair.logs["ap"].read_text().splitlines() if line.startswith("{")]
    writes = [line for line in logs if line.get("event") == "WRITE"]
    assert writes
    assert writes[0]["key"] == "fleet"
    assert {"timestamp", "written_at", "version", "node"} <= set(writes[0])
    # one line per write: the request's access line carries the write (who wrote it, and the answer)
    assert (writes[0]["path"], writes[0]["status"], writes[0]["method"]) == ("/write/fleet/ap-value", 200, "POST")
    assert len(writes[0]["request_id"]) == 32
    assert not [line for line in logs if line.get("path") == "/write/fleet/ap-value" and line["event"] != "WRITE"]


def test_check_deploy_refuses_unsafe_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ADMIN_TOKEN", "ENABLE_FAULT_ADMIN")}
    unsafe = _capstore("check", "--deploy", cwd=tmp_path, env=env | {"ENABLE_FAULT_ADMIN": "true", "ADMIN_TOKEN": "x"})
    assert unsafe.returncode == 1
    assert "SK.E001" in unsafe.stdout  # no SECRET_KEY
    assert "CS.E001" in unsafe.stdout  # fault admin with a weak token
    safe_env = env | {"SECRET_KEY": "Gh7!kL2@pQ9#xV4$mN8%tR1^wB6&zC3*"}
    safe = _capstore("check", "--deploy", cwd=tmp_path, env=safe_env)
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "CS." not in safe.stdout


def test_backup_and_restore_into_a_fresh_node(redis_nodes: dict[str, Any], tmp_path: Path) -> None:
    import asyncio

    async def fill() -> dict[str, Any]:
        from capstore.records import Record

        node = RedisNode("db_g1", redis_nodes["db_g1"].url)
        try:
            for i in range(50):
                await node.write(f"k{i}", Record(f"v{i}", f"{1700000000000 + i:013d}.00000000.cp"))
            return await node.snapshot()
        finally:
            await node.close()

    before = asyncio.run(fill())
    env = {k: v for k, v in os.environ.items() if k not in ("DB_G1_URL", "DB_G2_URL")}
    env |= {"DB_G1_URL": redis_nodes["db_g1"].url, "DB_G2_URL": redis_nodes["db_g2"].url}
    result = _capstore("backup", str(tmp_path / "backups"), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    copies = sorted((tmp_path / "backups").glob("db_g1-*.rdb"))
    assert len(copies) == 1
    assert len(list((tmp_path / "backups").glob("db_g2-*.rdb"))) == 1
    assert f"{copies[0]}\t" in result.stdout
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    (restored_dir / "dump.rdb").write_bytes(copies[0].read_bytes())
    with RedisServer(directory=restored_dir, appendonly=False) as fresh:

        async def read_back() -> dict[str, Any]:
            node = RedisNode("db_g1", fresh.url)
            try:
                return await node.snapshot()
            finally:
                await node.close()

        assert asyncio.run(read_back()) == before
    down = _capstore("backup", str(tmp_path / "b2"), "--node", "db_g1", cwd=tmp_path,
                     env=env | {"DB_G1_URL": "redis://127.0.0.1:1/0"})  # fmt: skip
    assert down.returncode == 1
    assert "backup failed" in down.stderr
