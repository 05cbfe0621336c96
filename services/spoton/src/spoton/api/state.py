"""Everything a request handler needs, built once per app by `create_app` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, WebSocket

from spoton.config import Settings
from spoton.db import Database
from spoton.pipeline import Broadcaster, ModelSuite
from spoton.security import FieldCipher, PasswordHasher, TokenService

__all__ = ["AppState", "get_state"]


@dataclass
class AppState:
    settings: Settings
    db: Database
    tokens: TokenService
    hasher: PasswordHasher
    cipher: FieldCipher
    suite: ModelSuite
    broadcaster: Broadcaster
    jobs: Any  # JobManager (in-process) or DramatiqJobRunner
    metrics: Any  # SpotOnMetrics
    exports: Any  # ExportManager
    caches: dict[str, dict[Any, Any]] = field(default_factory=dict)
    object_store: Any = None  # S3ObjectStore when S3_BUCKET_NAME is set
    live: Any = None  # LiveState: memory, or Redis when REDIS_URL is set


def get_state(request: Request) -> AppState:
    return request.app.state.spoton  # type: ignore[no-any-return]


def ws_state(websocket: WebSocket) -> AppState:
    return websocket.app.state.spoton  # type: ignore[no-any-return]
