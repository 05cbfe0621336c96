"""`/ws/tracking/{task_id}`: live per-frame tracks; a slow client loses frames, the pipeline never waits.

The slow-client test drives the ASGI app with a client whose every send takes 200 ms; the other
tests run a real uvicorn server on loopback and real `websockets` clients.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from servicekit.local import free_port
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SLOW_SEND_S = 0.2


async def _start(service, frames: int) -> str:
    r = await service.client.post(
        f"{service.prefix}/tasks",
        json={"source": "synthetic", "cameras": ["cam_b"], "num_frames": frames, "width": 320, "height": 180},
        headers=service.auth("operator"),
    )
    return r.json()["id"]  # type: ignore[no-any-return]


async def test_slow_client_gets_frames_dropped_and_never_blocks_the_pipeline(service_factory) -> None:
    async with service_factory(WS_QUEUE_SIZE=4) as service:
        frames = 60
        task_id = await _start(service, frames)
        received: list[dict[str, Any]] = []
        closed = asyncio.Event()
        connected = False

        async def receive() -> dict[str, Any]:
            nonlocal connected
            if not connected:
                connected = True
                return {"type": "websocket.connect"}
            await closed.wait()
            return {"type": "websocket.disconnect", "code": 1000}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send":
                received.append(json.loads(message["text"]))
                await asyncio.sleep(SLOW_SEND_S)  # a client on a very slow link
            elif message["type"] == "websocket.close":
                closed.set()

        scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "http_version": "1.1",
            "path": f"/ws/tracking/{task_id}", "raw_path": f"/ws/tracking/{task_id}".encode(), "root_path": "",
            "query_string": f"token={service.tokens['viewer']}".encode(), "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000), "server": ("localhost", 80), "subprotocols": [], "state": {},
        }  # fmt: skip
        started = time.perf_counter()
        stream = asyncio.create_task(service.app(scope, receive, send))
        task = await service.wait_task(task_id)
        pipeline_s = time.perf_counter() - started
        await asyncio.wait_for(stream, timeout=10)
        assert task["status"] == "completed"
        # The pipeline finished well before a client at 200 ms per message could have taken every frame.
        assert pipeline_s < frames * SLOW_SEND_S / 2, pipeline_s
        frame_msgs = [m for m in received if m["type"] == "frame"]
        assert received[0]["type"] == "hello"
        assert received[-1] == {"type": "end", "task_id": task_id, "status": "completed"} | (
            {"dropped": received[-1]["dropped"]} if "dropped" in received[-1] else {}
        )
        assert len(frame_msgs) < frames
        numbers = [m["frame"] for m in frame_msgs]
        assert numbers == sorted(numbers)  # order kept, gaps where frames were dropped
        assert sum(m.get("dropped", 0) for m in received[1:]) == frames + 1 - len(received[1:])
        assert service.state.broadcaster.dropped_total > 0
        assert service.state.broadcaster.subscribers() == 0


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    runner = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await runner


async def test_real_server_streams_frames_and_a_stalled_client_does_not_hold_back_others(service) -> None:
    async with served(service.app) as base:
        task_id = await _start(service, 40)
        url = f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}"
        async with connect(url, max_queue=1, close_timeout=0.2) as stalled, connect(url) as reader:
            messages = []
            async for raw in reader:
                messages.append(json.loads(raw))
            assert messages[0]["type"] == "hello"
            assert messages[-1]["type"] == "end"
            assert messages[-1]["status"] == "completed"
            frames = [m for m in messages if m["type"] == "frame"]
            assert [m["frame"] for m in frames] == list(range(frames[0]["frame"], 41))  # everything after joining
            assert all(
                {"camera", "track_id", "global_id", "bbox", "floor"} <= set(t) for m in frames for t in m["tracks"]
            )
            assert stalled.state.name == "OPEN"  # never read from, still connected, nobody waited for it


@pytest.mark.parametrize(("query", "code"), [("", 4401), ("?token=garbage", 4401), ("?token={viewer}", 4404)])
async def test_refusals_have_close_codes(service, query: str, code: int) -> None:
    async with served(service.app) as base:
        url = f"{base}/ws/tracking/{'e' * 32}" + query.format(viewer=service.tokens["viewer"])
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == code


async def test_finished_task_says_hello_and_end(service) -> None:
    task_id = await _start(service, 2)
    await service.wait_task(task_id)
    async with (
        served(service.app) as base,
        connect(f"{base}/ws/tracking/{task_id}?token={service.tokens['viewer']}") as ws,
    ):
        got = [json.loads(m) async for m in ws]
    assert [m["type"] for m in got] == ["hello", "end"]
