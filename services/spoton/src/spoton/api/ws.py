"""`/ws/tracking/{task_id}`: per-frame tracks as JSON, live, with backpressure.

Authenticate with `?token=<JWT>` (browsers cannot set headers on WebSockets) or an
`Authorization: Bearer` header. Close codes: 4401 not authenticated, 4403 forbidden, 4404 unknown
task, 1001 server shutting down, 1000 after the task's `end` message. Each client has a bounded
queue (WS_QUEUE_SIZE): a slow client misses frames (`dropped` on the next message tells how many)
and never slows the pipeline or other clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from servicekit import until_shutdown

from spoton.api.deps import authenticate_token
from spoton.api.state import ws_state
from spoton.db import Task
from spoton.errors import AuthenticationError
from spoton.pipeline import JobStatus, Subscription
from spoton.security import Role, role_allows

__all__ = ["router"]

router = APIRouter()


async def _messages(sub: Subscription) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await sub.get()


@router.websocket("/ws/tracking/{task_id}")
async def tracking_stream(websocket: WebSocket, task_id: str) -> None:
    state = ws_state(websocket)
    await websocket.accept()
    token = websocket.query_params.get("token") or ""
    if not token:
        scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    client_ip = websocket.client.host if websocket.client else None
    try:
        principal = await authenticate_token(state, token, client_ip)
    except AuthenticationError as error:
        await websocket.close(code=4401, reason=str(error)[:120])
        return
    if not role_allows(principal.role, Role.VIEWER):
        await websocket.close(code=4403, reason="forbidden")
        return
    # Subscribe before reading the status, so no frame between the two is missed.
    sub = state.broadcaster.subscribe(task_id)
    state.metrics.ws_clients(1)
    try:
        async with state.db.session() as session:
            task = await session.get(Task, task_id)
        if task is None:
            await websocket.close(code=4404, reason="unknown task")
            return
        await websocket.send_json({"type": "hello", "task_id": task_id, "status": task.status})
        if task.status in JobStatus.FINAL:
            await websocket.send_json({"type": "end", "task_id": task_id, "status": task.status})
            await websocket.close(code=1000)
            return
        async for message in until_shutdown(_messages(sub)):
            await websocket.send_json(message)
            if message.get("type") == "end":
                await websocket.close(code=1000)
                return
        await websocket.close(code=1001, reason="server shutting down")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; nothing to clean up beyond the subscription
    finally:
        state.broadcaster.unsubscribe(sub)
        state.metrics.ws_clients(-1)
