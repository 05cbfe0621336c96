"""The `spoton` console script: eval, users create (password never on the command line), check, serve."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from servicekit.local import free_port, wait_for_port
from spoton.cli import main
from spoton.db import AuditEntry, Database, User
from sqlalchemy import select

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mot" / "TUD-Campus"
STRONG = "5d2e8f1a7c3b9e6d0f4a2c8b1e7d3f9a6c0b4e2d8f1a7c3b9e5d0f6a2c4b8e1d"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET_KEY": STRONG,
        "ENCRYPTION_SECRET_KEY": STRONG[::-1],
    }
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def test_eval_prints_hota_mota_idf1_on_tud_campus() -> None:
    result = CliRunner().invoke(main, ["eval", str(FIXTURES / "gt.txt"), str(FIXTURES / "test.txt")])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines()[:3])
    # py-motmetrics' published figures for this pair (see the parity test).
    assert lines == {"HOTA": "39.14", "MOTA": "52.65", "IDF1": "55.77"}


def test_eval_reports_a_bad_file_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,10,5,5,1\n2,x,1,1,1,1,1\n")
    result = CliRunner().invoke(main, ["eval", str(FIXTURES / "gt.txt"), str(bad)])
    assert result.exit_code == 1
    assert "bad.txt:2" in result.output


def test_users_create_reads_the_password_from_stdin_only(env: dict[str, str]) -> None:
    runner = CliRunner()
    argv = runner.invoke(main, ["users", "create", "root", "--role", "admin", "--password", "hunter2hunter2"])
    assert argv.exit_code == 2  # there is no such option
    weak = runner.invoke(main, ["users", "create", "root", "--role", "admin", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 12" in weak.output
    ok = runner.invoke(
        main, ["users", "create", "root", "--role", "admin", "--password-stdin"], input="a sturdy passphrase 42\n"
    )
    assert ok.exit_code == 0, ok.output
    prompted = runner.invoke(
        main, ["users", "create", "eve", "--role", "viewer"], input="another fine passphrase\nanother fine passphrase\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert "another fine passphrase" not in prompted.output  # hidden prompt
    dup = runner.invoke(main, ["users", "create", "eve", "--role", "viewer", "--password-stdin"], input="x" * 20)
    assert dup.exit_code == 1

    async def stored() -> tuple[list[tuple[str, str, str]], list[str]]:
        db = Database(env["DATABASE_URL"])
        async with db.session() as session:
            users = (await session.execute(select(User.username, User.role, User.password_hash))).all()
            actions = (await session.execute(select(AuditEntry.target))).scalars().all()
        await db.dispose()
        return [tuple(u) for u in users], list(actions)

    users, audit = asyncio.run(stored())
    assert [(u, r) for u, r, _ in users] == [("root", "admin"), ("eve", "viewer")]
    assert all(h.startswith("$argon2id$") for _, _, h in users)
    assert audit == ["user:root", "user:eve"]


def test_check_deploy_names_the_missing_jwt_secret(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET_KEY")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("ALLOWED_HOSTS", "spoton.example.org")
    result = CliRunner().invoke(main, ["check", "--deploy"])
    assert result.exit_code == 1
    assert "SPOT.E001" in result.output
    assert "JWT_SECRET_KEY is not set" in result.output
    monkeypatch.setenv("JWT_SECRET_KEY", STRONG)
    assert CliRunner().invoke(main, ["check", "--deploy"]).exit_code == 0  # only the SQLite warning is left


def test_serve_starts_a_real_server(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "spoton.cli", "serve", "--port", str(port)],
        env={**os.environ, **env, "ENABLE_REQUEST_LOGGING": "false"},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["status"] == "pass"
        assert health["service"] == "spoton"
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        assert ready.status_code == 200
        unauth = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/performance/metrics", timeout=5)
        assert unauth.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)
    # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15 rather than 0.
    assert process.returncode in (0, -15)
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
