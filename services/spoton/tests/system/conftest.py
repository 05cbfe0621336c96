"""A real SpotOn app per test (fresh SQLite file, migrations, lifespan) driven through httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from servicekit.asgi import ASGIApp
from spoton.api.state import AppState
from spoton.app import create_app
from spoton.config import Settings
from spoton.db import User
from spoton.security import PasswordHasher, Role
from sqlalchemy import select

JWT_KEY = "9f1c2b7e4a6d8c0e3b5a7f9d1c3e5a7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c"
ENC_KEY = "4e6a8c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6c"
PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def run_lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Drive the ASGI lifespan protocol (httpx's transport does not)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()
    failure: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            started.set()
        elif kind == "lifespan.shutdown.complete":
            stopped.set()
        elif kind.endswith(".failed"):
            failure.append(message.get("message", ""))
            started.set()
            stopped.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    if failure:
        raise RuntimeError(f"lifespan startup failed: {failure[0]}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task


def inner_fastapi(app: Any) -> FastAPI:
    while not isinstance(app, FastAPI):
        app = app.app
    return app


@pytest.fixture(scope="session")
def password_hashes() -> dict[str, str]:
    """argon2 is slow on purpose: hash the test password once per session."""
    hasher = PasswordHasher()
    return {role.value: hasher.hash(PASSWORD) for role in Role}


@dataclass
class Service:
    app: ASGIApp
    settings: Settings
    state: AppState
    client: httpx.AsyncClient
    tokens: dict[str, str]

    @property
    def prefix(self) -> str:
        return self.settings.API_V1_PREFIX

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def wait_task(self, task_id: str, limit_s: float = 60.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while loop.time() < deadline:
            response = await self.client.get(f"{self.prefix}/tasks/{task_id}", headers=self.auth("viewer"))
            body = response.json()
            if body["status"] in ("completed", "failed", "stopped"):
                return body  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise TimeoutError(f"task {task_id} did not finish in {limit_s}s")


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "_env_file": None,
            "DATA_DIR": tmp_path / "data",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'spoton.db'}",
            "JWT_SECRET_KEY": JWT_KEY,
            "ENCRYPTION_SECRET_KEY": ENC_KEY,
            "ENABLE_ADMIN_ENDPOINTS": True,
            "ENABLE_REQUEST_LOGGING": False,
            "MEDIA_ROOT": tmp_path / "media",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@asynccontextmanager
async def open_service(settings: Settings, hashes: dict[str, str]) -> AsyncIterator[Service]:
    app = create_app(settings)
    state: AppState = inner_fastapi(app).state.spoton
    async with run_lifespan(app):
        async with state.db.session() as session:
            existing = set((await session.execute(select(User.username))).scalars())
            session.add_all(
                User(username=f"{role}-user", password_hash=hashes[role], role=role)
                for role in hashes
                if f"{role}-user" not in existing
            )
            await session.commit()
        tokens = {role: state.tokens.issue(f"{role}-user", Role(role))[0] for role in hashes}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield Service(app, settings, state, client, tokens)


@pytest.fixture
async def service(settings_factory: Callable[..., Settings], password_hashes: dict[str, str]) -> AsyncIterator[Service]:
    async with open_service(settings_factory(), password_hashes) as svc:
        yield svc


@pytest.fixture
def service_factory(settings_factory: Callable[..., Settings], password_hashes: dict[str, str]) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        return open_service(settings_factory(**overrides), password_hashes)

    return make
