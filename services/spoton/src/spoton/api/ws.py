"""`/ws/tracking/{task_id}`: per-frame tracks as JSON, live, with backpressure.

Authenticate with `?token=<JWT>` (browsers cannot set headers on WebSockets) or an
`Authorization: Bearer` header. Close codes: 4401 not authenticated, 4403 forbidden, 4404 unknown
task, 4422 bad stream options, 1001 server shutting down, 1000 after the task's `end` message.
Each client has a bounded queue (WS_QUEUE_SIZE): a slow client misses frames (`dropped` on the next
message tells how many) and never slows the pipeline or other clients.

`?frames=jpeg` (optionally `&jpeg_quality=10..95&max_width=80..1920`) also streams the camera
images: each `frame` message then lists `"images": [{"camera", "bytes"}]` and is followed by one
binary JPEG message per listed camera, in that order. Images ride in the same bounded queue, so a
slow client loses whole frames (JSON and JPEGs together); encoding happens in a worker thread per
client, never in the pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
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


@dataclass(frozen=True)
class ImageOptions:
    quality: int = 70
    max_width: int | None = None

    @classmethod
    def from_query(cls, params: Any) -> ImageOptions | None:
        """None when the client wants JSON only; raises ValueError on a bad option."""
        kind = params.get("frames")
        if kind in (None, "", "none"):
            return None
        if kind != "jpeg":
            raise ValueError("frames must be 'jpeg' or 'none'")
        quality = int(params.get("jpeg_quality", 70))
        width = params.get("max_width")
        max_width = None if width in (None, "") else int(width)
        if not 10 <= quality <= 95 or (max_width is not None and not 80 <= max_width <= 1920):
            raise ValueError("jpeg_quality must be 10..95 and max_width 80..1920")
        return cls(quality, max_width)


def _encode(images: dict[str, npt.NDArray[np.uint8]], options: ImageOptions) -> list[tuple[str, bytes]]:
    out = []
    for camera in sorted(images):
        image = images[camera]
        if options.max_width is not None and image.shape[1] > options.max_width:
            height = max(1, round(image.shape[0] * options.max_width / image.shape[1]))
            image = np.asarray(cv2.resize(image, (options.max_width, height), interpolation=cv2.INTER_AREA), np.uint8)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, options.quality])
        if ok:
            out.append((camera, jpeg.tobytes()))
    return out


async def _send(websocket: WebSocket, message: dict[str, Any], options: ImageOptions | None) -> None:
    # The message object is shared by every subscriber: read it, never change it.
    images = message.get("images")
    if images is not None:
        message = {k: v for k, v in message.items() if k != "images"}
    if options is None or not images:
        await websocket.send_json(message)
        return
    encoded = await asyncio.to_thread(_encode, images, options)
    await websocket.send_json({**message, "images": [{"camera": c, "bytes": len(b)} for c, b in encoded]})
    for _, jpeg in encoded:
        await websocket.send_bytes(jpeg)


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
    try:
        options = ImageOptions.from_query(websocket.query_params)
    except ValueError as error:
        await websocket.close(code=4422, reason=str(error)[:120])
        return
    # Subscribe before reading the status, so no frame between the two is missed.
    sub = state.broadcaster.subscribe(task_id, frames=options is not None)
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
            await _send(websocket, message, options)
            if message.get("type") == "end":
                await websocket.close(code=1000)
                return
        await websocket.close(code=1001, reason="server shutting down")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; nothing to clean up beyond the subscription
    finally:
        state.broadcaster.unsubscribe(sub)
        state.metrics.ws_clients(-1)
