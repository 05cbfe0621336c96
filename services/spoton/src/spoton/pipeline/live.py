"""Live per-task state: progress, the latest tracks per camera, stop requests and frame fan-out.

Two implementations behind one interface:

- `MemoryLiveState` (no `REDIS_URL`): dictionaries in this process; frames go straight to the
  local `Broadcaster`. One process sees only its own jobs.
- `RedisLiveState`: progress and latest tracks in Redis hashes (with a TTL), stop requests as
  keys, frames over Redis pub/sub. Every API replica runs one pattern subscription and hands the
  frames of tasks its WebSocket clients watch to its local `Broadcaster`, so a client on replica B
  sees frames produced by a worker anywhere; per-client backpressure stays local (slow clients
  lose frames, never block the listener).

Redis errors become `LiveStateUnavailableError` (HTTP 503). The job runner treats live state as
best effort: a Redis outage never stops the pipeline from storing its results, and frames that
cannot reach Redis still go to this process's own WebSocket clients.

Camera images (`/ws/tracking?frames=jpeg`) never go through Redis: the job passes them to
`publish_frame` only when a WebSocket client of this process wants them, and they reach only this
process's clients. With Redis, the listener re-attaches them to the frame it forwards (a short
stash keyed by task and frame), so a viewer gets images only from a job running in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from spoton.errors import LiveStateUnavailableError
from spoton.logs import log
from spoton.pipeline.broadcast import Broadcaster

__all__ = ["LiveState", "MemoryLiveState", "RedisLiveState", "TaskLive"]

TaskLive = dict[str, Any]  # {"frames_done", "frames_total", "cameras": {camera: {"frame", "ts", "tracks"}}}
Images = dict[str, Any]  # camera -> raw image (numpy array), for local viewers only

IMAGE_STASH_FRAMES = 4  # frames whose images wait for the Redis echo; older ones are dropped


class LiveState(Protocol):
    broadcaster: Broadcaster
    kind: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    async def set_progress(self, task_id: str, done: int, total: int) -> None: ...
    async def progress(self, task_id: str) -> tuple[int, int] | None: ...
    async def publish_frame(
        self, task_id: str, message: dict[str, Any], done: int, total: int, images: Images | None = None
    ) -> bool:
        """Record progress and the latest tracks, fan the frame out; return whether a stop was requested.

        `images` (raw, per camera) go to this process's subscribers only, attached as `"images"`.
        """

    async def publish(self, task_id: str, message: dict[str, Any]) -> None: ...
    async def latest(self, task_id: str) -> TaskLive | None: ...
    async def request_stop(self, task_id: str) -> None: ...
    async def stop_requested(self, task_id: str) -> bool: ...
    async def forget(self, task_id: str) -> None: ...


def _latest_by_camera(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cameras: dict[str, dict[str, Any]] = {c: {"frame": message["frame"], "ts": message["ts"], "tracks": []}
                                          for c in message.get("cameras", ())}  # fmt: skip
    for track in message.get("tracks", ()):
        entry = cameras.setdefault(track["camera"], {"frame": message["frame"], "ts": message["ts"], "tracks": []})
        entry["tracks"].append(track)
    return cameras


class MemoryLiveState:
    kind = "memory"

    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster
        self._progress: dict[str, tuple[int, int]] = {}
        self._latest: dict[str, dict[str, dict[str, Any]]] = {}
        self._stops: set[str] = set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def set_progress(self, task_id: str, done: int, total: int) -> None:
        self._progress[task_id] = (done, total)

    async def progress(self, task_id: str) -> tuple[int, int] | None:
        return self._progress.get(task_id)

    async def publish_frame(
        self, task_id: str, message: dict[str, Any], done: int, total: int, images: Images | None = None
    ) -> bool:
        self._progress[task_id] = (done, total)
        self._latest.setdefault(task_id, {}).update(_latest_by_camera(message))
        self.broadcaster.publish(task_id, message if images is None else {**message, "images": images})
        return task_id in self._stops

    async def publish(self, task_id: str, message: dict[str, Any]) -> None:
        self.broadcaster.publish(task_id, message)

    async def latest(self, task_id: str) -> TaskLive | None:
        if task_id not in self._progress:
            return None
        done, total = self._progress[task_id]
        return {"frames_done": done, "frames_total": total, "cameras": self._latest.get(task_id, {})}

    async def request_stop(self, task_id: str) -> None:
        self._stops.add(task_id)

    async def stop_requested(self, task_id: str) -> bool:
        return task_id in self._stops

    async def forget(self, task_id: str) -> None:
        self._progress.pop(task_id, None)
        self._latest.pop(task_id, None)
        self._stops.discard(task_id)


class RedisLiveState:
    """Live state shared by every replica and worker through one Redis (keys under `prefix`)."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        broadcaster: Broadcaster,
        *,
        ttl_s: int = 3600,
        prefix: str = "spoton:",
        timeout_s: float = 2.0,
        listen: bool = True,
    ) -> None:
        self.broadcaster = broadcaster
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.listen = listen
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=10
        )
        self._listener: asyncio.Task[None] | None = None
        self.listener_connected = asyncio.Event()
        # (task, frame) -> images of frames published by jobs in this process, until the echo arrives
        self._images: OrderedDict[tuple[str, int], Images] = OrderedDict()

    # --- keys --------------------------------------------------------------------------------
    def _progress_key(self, task_id: str) -> str:
        return f"{self.prefix}task:{task_id}:progress"

    def _latest_key(self, task_id: str) -> str:
        return f"{self.prefix}task:{task_id}:latest"

    def _stop_key(self, task_id: str) -> str:
        return f"{self.prefix}task:{task_id}:stop"

    def _channel(self, task_id: str) -> str:
        return f"{self.prefix}frames:{task_id}"

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self.listen and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="spoton-live-listener")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        await self.client.aclose()

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def _listen(self) -> None:
        """Forward published frames to local subscribers; reconnect with backoff after errors."""
        pattern = f"{self.prefix}frames:*"
        skip = len(f"{self.prefix}frames:")
        delay = 0.1
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self.listener_connected.set()
                delay = 0.1
                while True:
                    item = await pubsub.get_message(timeout=1.0)
                    if item is None or item.get("type") != "pmessage":
                        continue
                    channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
                    task_id = channel[skip:]
                    if self.broadcaster.subscribers(task_id):
                        self.broadcaster.publish(task_id, self._with_images(task_id, orjson.loads(item["data"])))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                if self.listener_connected.is_set():
                    log.warning("live listener lost Redis; reconnecting", error=str(error))
                self.listener_connected.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _stash_images(self, task_id: str, frame: int, images: Images) -> None:
        self._images[(task_id, frame)] = images
        while len(self._images) > IMAGE_STASH_FRAMES:
            self._images.popitem(last=False)

    def _with_images(self, task_id: str, message: dict[str, Any]) -> dict[str, Any]:
        if message.get("type") != "frame" or not self._images:
            return message
        images = self._images.pop((task_id, message.get("frame", -1)), None)
        return message if images is None else {**message, "images": images}

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (RedisError, OSError) as error:
            raise LiveStateUnavailableError(f"Redis (live state) is unavailable: {error}") from error

    # --- state -------------------------------------------------------------------------------
    async def set_progress(self, task_id: str, done: int, total: int) -> None:
        key = self._progress_key(task_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping={"done": done, "total": total})
        pipe.expire(key, self.ttl_s)
        await self._call(pipe.execute())

    async def progress(self, task_id: str) -> tuple[int, int] | None:
        values = await self._call(self.client.hmget(self._progress_key(task_id), "done", "total"))
        if values[0] is None:
            return None
        return int(values[0]), int(values[1] or 0)

    async def publish_frame(
        self, task_id: str, message: dict[str, Any], done: int, total: int, images: Images | None = None
    ) -> bool:
        """Progress, latest tracks per camera, the fan-out and the stop check of one frame: one round trip.

        Images stay in this process: stashed for the listener to re-attach (never sent to Redis).
        """
        if images is not None and self.listen:
            self._stash_images(task_id, message["frame"], images)
        progress, latest = self._progress_key(task_id), self._latest_key(task_id)
        per_camera = {cam: orjson.dumps(entry) for cam, entry in _latest_by_camera(message).items()}
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(progress, mapping={"done": done, "total": total})
        pipe.expire(progress, self.ttl_s)
        if per_camera:
            pipe.hset(latest, mapping=per_camera)  # type: ignore[arg-type]
            pipe.expire(latest, self.ttl_s)
        pipe.publish(self._channel(task_id), orjson.dumps(message))
        pipe.exists(self._stop_key(task_id))
        try:
            results = await self._call(pipe.execute())
        except LiveStateUnavailableError:
            self._images.pop((task_id, message["frame"]), None)
            # this replica's viewers still get the frame
            self.broadcaster.publish(task_id, message if images is None else {**message, "images": images})
            raise
        return bool(results[-1])

    async def publish(self, task_id: str, message: dict[str, Any]) -> None:
        try:
            await self._call(self.client.publish(self._channel(task_id), orjson.dumps(message)))
        except LiveStateUnavailableError:
            self.broadcaster.publish(task_id, message)
            raise

    async def latest(self, task_id: str) -> TaskLive | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._progress_key(task_id), "done", "total")
        pipe.hgetall(self._latest_key(task_id))
        (done, total), cameras = await self._call(pipe.execute())
        if done is None:
            return None
        return {
            "frames_done": int(done),
            "frames_total": int(total or 0),
            "cameras": {(k.decode() if isinstance(k, bytes) else k): orjson.loads(v) for k, v in cameras.items()},
        }

    async def request_stop(self, task_id: str) -> None:
        await self._call(self.client.set(self._stop_key(task_id), b"1", ex=self.ttl_s))

    async def stop_requested(self, task_id: str) -> bool:
        return bool(await self._call(self.client.exists(self._stop_key(task_id))))

    async def forget(self, task_id: str) -> None:
        """Drop the latest tracks of a finished task (progress stays until its TTL, for late readers)."""
        for key in [k for k in self._images if k[0] == task_id]:
            del self._images[key]
        await self._call(self.client.delete(self._latest_key(task_id)))
