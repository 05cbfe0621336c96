"""Production start-up refusals, secrets from files, gunicorn multiprocess metrics, graceful shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

APPS_DIR = Path(__file__).parent / "apps"
SAFE = "4f9c2b7e1a8d3f6c0b5e9a2d7c4f1e8b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f"
SAFE_PRODUCTION = {"SECRET_KEY": SAFE, "ALLOWED_HOSTS": "api.example.org", "ALLOWED_ORIGINS": "https://app.example.org",
                   "DEBUG": "false", "PRODUCTION_MODE": "true"}  # fmt: skip


def run_sample_cli(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k not in SAFE_PRODUCTION and not k.endswith("_FILE")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(APPS_DIR)
    return subprocess.run(
        [sys.executable, "-m", "sk_sample_cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )


UNSAFE = [
    ({"ALLOWED_ORIGINS": "*"}, "SK.E002"),
    ({"ALLOWED_HOSTS": ""}, "SK.E003"),
    ({"ALLOWED_HOSTS": "*"}, "SK.E004"),
    ({"DEBUG": "true"}, "SK.E005"),
    ({"SECRET_KEY": ""}, "SK.E001"),
    ({"SECRET_KEY": "changeme"}, "SK.E001"),
    ({"SECRET_KEY": "short-but-random-9f3a"}, "SK.E001"),
    ({"SECRET_KEY": "ab" * 40}, "SK.E001"),
]


@pytest.mark.parametrize(("override", "check_id"), UNSAFE)
def test_production_refuses_each_unsafe_setting(tmp_path: Path, override: dict[str, str], check_id: str) -> None:
    result = run_sample_cli(["serve", "--port", "1"], {**SAFE_PRODUCTION, **override}, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to start in production" in result.stderr
    assert check_id in result.stderr
    assert "Fix:" in result.stderr
    secret = override.get("SECRET_KEY")
    if secret:
        assert secret not in result.stderr + result.stdout  # a weak secret is named, never echoed


def test_check_deploy_lists_every_problem_and_passes_when_safe(tmp_path: Path) -> None:
    unsafe = {"ALLOWED_ORIGINS": "*", "ALLOWED_HOSTS": "*", "DEBUG": "true", "SECRET_KEY": "secret"}
    result = run_sample_cli(["check", "--deploy"], unsafe, tmp_path)
    assert result.returncode == 1
    for check_id in ("SK.E001", "SK.E002", "SK.E004", "SK.E005"):
        assert check_id in result.stdout
    ok = run_sample_cli(["check", "--deploy"], SAFE_PRODUCTION, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no deployment issues" in ok.stdout


def test_secret_key_from_file_is_used_and_both_forms_together_refused(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(SAFE + "\n")
    env = {**SAFE_PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret_file)}
    env.pop("SECRET_KEY")
    ok = run_sample_cli(["check", "--deploy"], env, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    both = run_sample_cli(["check", "--deploy"], {**env, "SECRET_KEY": SAFE}, tmp_path)
    assert both.returncode != 0
    assert "both SECRET_KEY and SECRET_KEY_FILE are set" in both.stderr
    missing = run_sample_cli(["check", "--deploy"], {**env, "SECRET_KEY_FILE": str(tmp_path / "nope")}, tmp_path)
    assert missing.returncode != 0
    assert "cannot be read" in missing.stderr


def test_gunicorn_workers_share_one_metrics_view(start_service, tmp_path: Path) -> None:
    service = start_service(production=True, WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
                            ALLOWED_HOSTS="127.0.0.1", ALLOWED_ORIGINS="https://app.example.org")  # fmt: skip
    # New connections spread over both workers; the total must still be exact.
    for item in range(40):
        response = httpx.get(f"{service.url}/items/{item}", timeout=5)
        response.raise_for_status()
        assert "server" not in response.headers  # gunicorn's uvicorn workers send none either
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    total = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "sample_requests_total" and sample.labels["endpoint"] == "/items/{item_id}"
    )
    assert total == 40
    assert list((tmp_path / "prom").glob("counter_*.db")), "workers write multiprocess value files"


@pytest.mark.parametrize("production", [False, True])
def test_sigterm_ends_open_sse_stream_inside_grace_period(start_service, tmp_path: Path, production: bool) -> None:
    marker = tmp_path / f"lifespan-{production}.txt"
    service = start_service(production=production, GRACEFUL_TIMEOUT="10", LIFESPAN_MARKER=str(marker), WORKERS="1",
                            SSE_INTERVAL="0.05", ALLOWED_HOSTS="127.0.0.1",
                            ALLOWED_ORIGINS="https://app.example.org")  # fmt: skip
    received: list[str] = []
    errors: list[BaseException] = []
    finished = threading.Event()

    def consume() -> None:
        try:
            with httpx.stream("GET", f"{service.url}/events", timeout=30) as response:
                assert response.headers["x-accel-buffering"] == "no"
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        received.append(line)
        except BaseException as error:
            errors.append(error)
        finished.set()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) >= 3
    took = service.terminate(timeout=15)
    assert took < 5, f"shutdown took {took:.1f}s; the stream should end at once, not at the 10 s grace limit"
    assert finished.wait(5), "the client's stream did not end"
    assert errors == [], "the stream must end cleanly (final chunk), not be cut off"
    # uvicorn re-raises the signal after a clean shutdown (exit by SIGTERM); gunicorn's master exits 0.
    assert service.process.returncode in (0, -signal.SIGTERM)
    assert marker.read_text().split() == ["startup", "shutdown"]


def test_production_logs_are_json_with_request_id_and_never_the_secret(start_service) -> None:
    import json

    service = start_service(production=True, WORKERS="1", LOG_LEVEL="INFO", ALLOWED_HOSTS="127.0.0.1",
                            ALLOWED_ORIGINS="https://app.example.org")  # fmt: skip
    httpx.get(f"{service.url}/items/9", headers={"X-Request-ID": "log-trace-1"}, timeout=5).raise_for_status()
    deadline = time.monotonic() + 5
    while "log-trace-1" not in service.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    assert access, service.log()
    assert access[0]["request_id"] == "log-trace-1"
    assert access[0]["path"] == "/items/9"
    assert access[0]["status"] == 200
    assert any(line.get("logger", "").startswith("gunicorn") for line in lines)  # server logs, same format
    assert SAFE not in service.log()
