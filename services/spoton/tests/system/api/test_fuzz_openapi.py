"""Schemathesis over the whole OpenAPI document, as an admin, against a real uvicorn server:
no generated request may produce a 5xx. Starting jobs and uploads are excluded (their hostile
inputs have their own tests; fuzzing them would mostly burn CPU on synthetic scenes)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from servicekit.local import free_port
from spoton.app import create_app
from spoton.config import Settings
from spoton.db import Database, User
from spoton.security import Role, TokenService

from ..conftest import ENC_KEY, JWT_KEY


@dataclass
class Live:
    base_url: str
    headers: dict[str, str]
    schema: dict[str, Any]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, password_hashes: dict[str, str]) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    cfg = Settings(
        _env_file=None, DATA_DIR=tmp / "data", DATABASE_URL=f"sqlite:///{tmp / 'fuzz.db'}", JWT_SECRET_KEY=JWT_KEY,
        ENCRYPTION_SECRET_KEY=ENC_KEY, ENABLE_ADMIN_ENDPOINTS=True, ENABLE_REQUEST_LOGGING=False,
        MEDIA_ROOT=tmp / "media",
    )  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)

    async def add_admin() -> None:
        db = Database(cfg.DATABASE_URL)
        async with db.session() as session:
            session.add(User(username="admin-user", password_hash=password_hashes["admin"], role="admin"))
            await session.commit()
        await db.dispose()

    asyncio.run(add_admin())
    token, _ = TokenService(JWT_KEY).issue("admin-user", Role.ADMIN)
    base = f"http://127.0.0.1:{port}"
    schema = httpx.get(f"{base}/api/v1/openapi.json").json()
    yield Live(base, {"Authorization": f"Bearer {token}"}, schema)
    server.should_exit = True
    thread.join(timeout=20)


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(live: Live) -> None:
    loaded = schemathesis.openapi.from_dict(live.schema).exclude(method="POST", path_regex=r"^/api/v1/(tasks|videos)$")
    failures: list[str] = []
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(base_url=live.base_url, headers=live.headers, checks=[not_a_server_error])

        try:
            check()
        except Exception as error:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:300]}")
    assert failures == []
