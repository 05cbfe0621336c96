"""Helpers for the HTTP tests: the service as a real process, and an SSE parser.

Imported by conftest.py and the test modules (conftest puts this folder on sys.path).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from servicekit.local import free_port

TEST_SECRET = "c2b7f0a9e4d1h8k3m6p5r2t9w4y7z0q1u8x5v3s6n9j2g4b7"


@dataclass
class Service:
    url: str
    dsn: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def cli_binary() -> str:
    return str(Path(sys.executable).parent / "indoormaps")


def start_service(directory: Path, dsn: str, **env: str) -> Service:
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "POOL_", "SSE_"))},
        "DATABASE_URL": dsn,
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
        "ENABLE_REQUEST_LOGGING": "false",
        **env,
    }
    log = directory / f"indoormaps-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [cli_binary(), "serve", "--port", str(port)], env=environ, stdout=sink, stderr=subprocess.STDOUT,
            cwd=directory,
        )  # fmt: skip
    service = Service(f"http://127.0.0.1:{port}", dsn, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"indoormaps serve exited with {process.returncode}:\n{service.log_text()}")
        try:
            if httpx.get(service.url + "/ready", timeout=2).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop()
    raise RuntimeError(f"indoormaps serve was not ready in 30 s:\n{service.log_text()}")


def demo_database(postgres_server, name: str) -> str:  # type: ignore[no-untyped-def]
    """A fresh database with the shipped campus, loaded through `indoormaps demo-data`."""
    dsn = postgres_server.create_database(name, extensions=("postgis", "pgrouting", "pg_trgm"))
    result = subprocess.run(
        [cli_binary(), "demo-data", "--database-url", dsn], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dsn


@dataclass
class SseEvent:
    event: str | None
    id: str | None
    data: str
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseReader:
    """Parses a text/event-stream incrementally (comments counted, not returned)."""

    lines: Iterator[str]
    comments: int = 0

    def __iter__(self) -> Iterator[SseEvent]:
        fields: dict[str, list[str]] = {}
        for line in self.lines:
            if line == "":
                if fields:
                    retry = fields.get("retry")
                    yield SseEvent(
                        (fields.get("event") or [None])[0],
                        (fields.get("id") or [None])[0],
                        "\n".join(fields.get("data", [])),
                        int(retry[0]) if retry else None,
                    )
                fields = {}
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
