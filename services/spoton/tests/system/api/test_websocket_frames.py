"""`/ws/tracking/{task_id}?frames=jpeg`: JPEG frames next to the JSON tracks, over a real uvicorn server.

A real `websockets` client that reads slowly through a tiny socket receive buffer loses whole frames
(JSON and JPEGs together), while the pipeline finishes at its own pace.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .test_websocket import served

SMALL_BUFFER = 4096


@asynccontextmanager
async def served_over_a_narrow_link(app: Any) -> AsyncIterator[tuple[str, int]]:
    """A real uvicorn on a listening socket with a tiny send buffer (accepted sockets inherit it)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    runner = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        await runner
        listener.close()


CAMERAS = ["cam_a1", "cam_a2", "cam_b", "cam_c"]


async def _start(service, frames: int, width: int = 320, height: int = 180) -> str:
    body = {"source": "synthetic", "cameras": CAMERAS, "num_frames": frames, "width": width, "height": height}
    r = await service.client.post(f"{service.prefix}/tasks", json=body, headers=service.auth("operator"))
    return r.json()["id"]  # type: ignore[no-any-return]


async def _read_stream(
    ws: Any, delay_s: float = 0.0, slow: asyncio.Event | None = None, received: list[Any] | None = None
) -> list[Any]:
    """Read to the end into `received`; wait `delay_s` after each message while `slow` is set."""
    received = [] if received is None else received
    async for raw in ws:
        received.append(raw if isinstance(raw, bytes) else json.loads(raw))
        if delay_s and (slow is None or slow.is_set()):
            await asyncio.sleep(delay_s)
    return received


def _frames_with_images(received: list[Any]) -> list[tuple[dict[str, Any], list[bytes]]]:
    """Pair each JSON frame message with the binary messages that follow it."""
    out: list[tuple[dict[str, Any], list[bytes]]] = []
    for item in received:
        if isinstance(item, bytes):
            out[-1][1].append(item)
        elif item["type"] == "frame":
            out.append((item, []))
    return out


async def test_jpeg_frames_follow_their_json_message(service) -> None:
    async with served(service.app) as base:
        task_id = await _start(service, 8)
        url = f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}&frames=jpeg&jpeg_quality=80&max_width=160"
        async with connect(url) as ws:
            received = await _read_stream(ws)
    assert received[0]["type"] == "hello"
    assert received[-1]["type"] == "end"
    pairs = _frames_with_images(received)
    assert [m["frame"] for m, _ in pairs] == list(range(pairs[0][0]["frame"], 9))
    for message, jpegs in pairs:
        assert [i["camera"] for i in message["images"]] == sorted(CAMERAS)
        assert [len(j) for j in jpegs] == [i["bytes"] for i in message["images"]]
        for jpeg in jpegs:
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (90, 160, 3)  # 320x180 scaled to max_width 160


async def test_json_only_clients_get_no_images_while_a_frames_client_watches(service) -> None:
    async with served(service.app) as base:
        task_id = await _start(service, 6)
        url = f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}"
        async with connect(url + "&frames=jpeg") as with_frames, connect(url) as plain:
            got_plain, got_frames = await asyncio.gather(_read_stream(plain), _read_stream(with_frames))
    assert not any(isinstance(m, bytes) for m in got_plain)
    assert all("images" not in m for m in got_plain)
    assert any(isinstance(m, bytes) for m in got_frames)


@pytest.mark.parametrize("query", ["frames=png", "frames=jpeg&jpeg_quality=100", "frames=jpeg&max_width=x"])
async def test_bad_stream_options_close_with_4422(service, query: str) -> None:
    async with served(service.app) as base:
        task_id = await _start(service, 2)
        async with connect(f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}&{query}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4422


@pytest.mark.slow
async def test_slow_real_client_loses_whole_frames_and_the_pipeline_does_not_wait(service_factory) -> None:
    frames, read_delay_s = 30, 0.25
    slow = asyncio.Event()
    slow.set()
    async with service_factory(WS_QUEUE_SIZE=2) as service, served_over_a_narrow_link(service.app) as (base, port):
        task_id = await _start(service, frames)
        url = f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}&frames=jpeg&jpeg_quality=95"
        # Tiny buffers at both ends: the server's writes back up quickly, as over a slow link.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
        sock.connect(("127.0.0.1", port))
        started = time.perf_counter()
        async with connect(url, sock=sock, max_queue=1, max_size=None) as ws:
            reader_progress: list[Any] = []
            reader = asyncio.create_task(_read_stream(ws, read_delay_s, slow, reader_progress))
            task = await service.wait_task(task_id)
            pipeline_s = time.perf_counter() - started
            seen_when_done = sum(1 for m in reader_progress if not isinstance(m, bytes) and m["type"] == "frame")
            slow.clear()  # catch up on what is left, before the server gives up on the closing handshake
            received = await asyncio.wait_for(reader, timeout=60)
            print(f"pipeline {pipeline_s:.2f}s, total {time.perf_counter() - started:.2f}s, seen {seen_when_done}")
    assert task["status"] == "completed"
    pairs = _frames_with_images(received)
    messages = [m for m in received if not isinstance(m, bytes)]
    # When the pipeline finished, the slow client had taken only a few frames: nobody waited for it.
    assert seen_when_done < frames / 2, (seen_when_done, pipeline_s)
    assert len(pairs) < frames
    assert sum(m.get("dropped", 0) for m in messages[1:]) > 0
    numbers = [m["frame"] for m, _ in pairs]
    assert numbers == sorted(numbers)
    for message, jpegs in pairs:  # frames that arrive, arrive whole
        assert len(jpegs) == len(message["images"]) == 4
    assert messages[-1]["type"] == "end"
    assert service.state.broadcaster.dropped_total > 0
