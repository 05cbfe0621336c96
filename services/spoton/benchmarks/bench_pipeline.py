"""End-to-end pipeline benchmark: N cameras of the synthetic scene through the job runner.

Runs the same code as a processing task (thread pool, SQLite storage, live fan-out) and prints
FPS per camera, per-stage latency, global-id accuracy against the scene's ground truth and peak
RSS. Usage: `uv run python services/spoton/benchmarks/bench_pipeline.py --frames 100 --width 640`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from spoton.db import Database, Detection, Task
from spoton.evaluation import iou_tlwh
from spoton.geometry import Homography
from spoton.pipeline import Broadcaster, JobManager, ModelSuite, SyntheticSource
from spoton.scene import demo_scene
from sqlalchemy import select


async def run(args: argparse.Namespace) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="spoton-bench-"))
    db = Database(f"sqlite:///{directory / 'bench.db'}")
    await db.migrate()
    scene = demo_scene(num_frames=args.frames, width=args.width, height=round(args.width * 9 / 16))
    cameras = tuple(c.name for c in scene.cameras)[: args.cameras]
    jobs = JobManager(db, ModelSuite(args.detector, args.tracker, "color_stripes", "weights"), Broadcaster(8),
                      threads=args.threads)  # fmt: skip
    async with db.session() as session:
        session.add(Task(id="bench", source="synthetic", params={}, status="queued", created_by="bench"))
        await session.commit()
    started = time.perf_counter()
    jobs.start(
        "bench", lambda: SyntheticSource(scene, cameras), {c.name: Homography(c.image_to_floor) for c in scene.cameras}
    )
    await jobs.wait("bench")
    wall = time.perf_counter() - started
    async with db.session() as session:
        task = await session.get(Task, "bench")
        rows = (await session.execute(select(Detection))).scalars().all()
    pairs: Counter[tuple[int, int]] = Counter()
    for cam in cameras:
        gt = scene.ground_truth(cam)
        for d in (r for r in rows if r.camera == cam):
            sel = gt.frame == d.frame
            if not sel.any():
                continue
            iou = iou_tlwh(np.array([[d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1]]), gt.tlwh[sel])[0]
            if iou.max() >= 0.5:
                pairs[(int(d.global_person_id or 0), int(gt.track_id[sel][iou.argmax()]))] += 1
    labels, persons = sorted({a for a, _ in pairs}), sorted({b for _, b in pairs})
    m = np.array([[pairs[(a, b)] for b in persons] for a in labels]) if pairs else np.zeros((1, 1))
    r, c = linear_sum_assignment(-m)
    await jobs.shutdown()
    await db.dispose()
    assert task is not None
    return {
        "detector": args.detector, "tracker": args.tracker, "cameras": len(cameras), "frames": args.frames,
        "width": args.width, "status": task.status, "wall_s": round(wall, 2),
        "fps_per_camera": task.stats.get("fps_per_camera"), "stage_ms_per_frame": task.stats.get("stage_ms_per_frame"),
        "global_id_accuracy": round(float(m[r, c].sum() / max(m.sum(), 1)), 3), "global_ids": len(labels),
        "people": len(persons), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--detector", default="hog")
    parser.add_argument("--tracker", default="bytetrack")
    parser.add_argument("--threads", type=int, default=2)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
