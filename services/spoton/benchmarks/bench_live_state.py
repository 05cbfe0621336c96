"""Live state and job runners: what Redis and the queue cost next to the in-process defaults.

One run, side by side, on a real redis-server started in a temp dir:

1. `publish_frame` per frame (progress + latest tracks + fan-out + stop check), memory vs Redis.
2. Fan-out latency from a producer to another replica's WebSocket queue, memory vs Redis pub/sub.
3. One synthetic 4-camera task through the in-process runner with memory vs Redis live state
   (end-to-end FPS per camera: does live state slow the pipeline?).

Usage: `uv run python services/spoton/benchmarks/bench_live_state.py [--quick]`. Medians, p95, ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from servicekit.local import RedisServer
from spoton.db import Database, Task
from spoton.geometry import Homography
from spoton.pipeline import Broadcaster, JobManager, LiveState, MemoryLiveState, ModelSuite, RedisLiveState
from spoton.pipeline.sources import SyntheticSource
from spoton.scene import demo_scene


def _frame(n: int, cameras: int = 4, people: int = 6) -> dict[str, object]:
    tracks = [
        {"camera": f"cam{c}", "track_id": p, "global_id": p, "bbox": [10.0, 20.0, 60.0, 180.0], "confidence": 0.9,
         "floor": [1.5, 2.5]}
        for c in range(cameras) for p in range(people)
    ]  # fmt: skip
    return {"type": "frame", "task_id": "bench", "frame": n, "ts": n / 10,
            "cameras": [f"cam{c}" for c in range(cameras)], "tracks": tracks}  # fmt: skip


def _stats(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


async def publish_cost(live: LiveState, frames: int) -> list[float]:
    samples = []
    for n in range(1, frames + 1):
        t0 = time.perf_counter()
        await live.publish_frame("bench", _frame(n), n, frames)
        samples.append(time.perf_counter() - t0)
    return samples


async def fanout_latency(producer: LiveState, peer: LiveState, frames: int) -> list[float]:
    sub = peer.broadcaster.subscribe("bench")
    samples = []
    for n in range(1, frames + 1):
        t0 = time.perf_counter()
        await producer.publish_frame("bench", _frame(n), n, frames)
        await asyncio.wait_for(sub.get(), 5)
        samples.append(time.perf_counter() - t0)
    peer.broadcaster.unsubscribe(sub)
    return samples


async def job_fps(live: LiveState, directory: Path, frames: int, name: str) -> float:
    db = Database(f"sqlite:///{directory / f'{name}.db'}")
    await db.migrate()
    scene = demo_scene(num_frames=frames, width=480, height=270)
    cameras = tuple(c.name for c in scene.cameras)
    jobs = JobManager(db, ModelSuite("hog", "bytetrack", "color_stripes", "weights"), live, threads=2)
    async with db.session() as session:
        session.add(Task(id=name, source="synthetic", params={}, status="queued", created_by="bench"))
        await session.commit()
    homographies = {c.name: Homography(c.image_to_floor) for c in scene.cameras}
    jobs.start(name, lambda: SyntheticSource(scene, cameras), homographies)
    await jobs.wait(name)
    async with db.session() as session:
        task = await session.get(Task, name)
    await jobs.shutdown()
    await db.dispose()
    if task is None or task.status != "completed":
        raise RuntimeError(f"benchmark job did not complete: {task and task.error}")
    return float(task.stats["fps_per_camera"])


async def run(args: argparse.Namespace) -> None:
    frames = 200 if args.quick else 2000
    job_frames = 10 if args.quick else 25
    directory = Path(tempfile.mkdtemp(prefix="spoton-bench-live-"))
    with RedisServer(directory=directory / "redis") as server:
        memory = MemoryLiveState(Broadcaster(frames + 1))
        producer = RedisLiveState(server.url, Broadcaster(1), listen=False)
        peer = RedisLiveState(server.url, Broadcaster(frames + 1))
        await peer.start()
        await asyncio.wait_for(peer.listener_connected.wait(), 5)
        rows = []
        mem, red = _stats(await publish_cost(memory, frames)), _stats(await publish_cost(producer, frames))
        rows.append(("publish_frame (ms)", mem, red))
        mem = _stats(await fanout_latency(memory, memory, frames))
        red = _stats(await fanout_latency(producer, peer, frames))
        rows.append(("fan-out to a WS queue (ms)", mem, red))
        await producer.close()
        await peer.close()
        fps_memory = [await job_fps(MemoryLiveState(Broadcaster(8)), directory, job_frames, f"m{i}") for i in range(3)]
        redis_live = RedisLiveState(server.url, Broadcaster(8), listen=False)
        fps_redis = [await job_fps(redis_live, directory, job_frames, f"r{i}") for i in range(3)]
        await redis_live.close()
    print(f"frames: {frames} live messages (4 cameras x 6 tracks each); job: 4 cameras x {job_frames} frames, HOG")
    print(f"{'measure':<30}{'memory median/p95':>20}{'redis median/p95':>20}{'ratio':>8}")
    for name, (m50, m95), (r50, r95) in rows:
        print(f"{name:<30}{m50:>10.3f}/{m95:<9.3f}{r50:>10.3f}/{r95:<9.3f}{r50 / max(m50, 1e-9):>8.1f}")
    fm, fr = statistics.median(fps_memory), statistics.median(fps_redis)
    print(f"{'job FPS per camera (median of 3)':<30}{fm:>20.2f}{fr:>20.2f}{fr / fm:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short sanity run")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
