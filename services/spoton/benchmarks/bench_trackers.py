"""ByteTrack vs BoT-SORT (ours) vs Roboflow `trackers` on the same detections: HOTA/MOTA/IDF1 and FPS.

Detections: TUD-Campus + TUD-Stadtmitte ground truth (motmetrics fixtures) with seeded noise,
15 % drop-outs and clutter, as in tests/unit/evaluation/test_trackers_on_tud.py.

    uv run --with trackers python services/spoton/benchmarks/bench_trackers.py

`trackers` (Apache-2.0) is optional: without it only our trackers are measured.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from spoton.detection import Detections
from spoton.evaluation import MOTSequence, combine, evaluate_sequence, read_mot
from spoton.tracking import BoTSORT, BoTSORTConfig, ByteTrack, ByteTrackConfig

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mot"
SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
REPEATS = 5


def noisy(gt: MOTSequence, seed: int) -> list[tuple[int, Detections]]:
    rng = np.random.default_rng(seed)
    out = []
    for frame, ids, tlwh in gt.frames():
        keep = rng.random(len(ids)) > 0.15
        b = tlwh[keep].copy()
        b[:, :2] += rng.normal(0, 0.04, (len(b), 2)) * b[:, 2:]
        b[:, 2:] *= np.exp(rng.normal(0, 0.04, (len(b), 2)))
        conf = np.clip(rng.normal(0.75, 0.15, len(b)), 0.05, 1)
        n = rng.poisson(0.3)
        clutter = np.c_[
            rng.uniform(0, 600, n), rng.uniform(0, 400, n), rng.uniform(40, 90, n), rng.uniform(100, 200, n)
        ]
        out.append((frame, Detections.from_xywh(np.r_[b, clutter], np.r_[conf, rng.uniform(0.1, 0.7, n)])))
    return out


StepFn = Callable[[Detections], tuple[np.ndarray, np.ndarray]]  # -> (xywh, ids)


def ours(make: Callable[[], object]) -> Callable[[], StepFn]:
    def factory() -> StepFn:
        t = make()

        def step(d: Detections) -> tuple[np.ndarray, np.ndarray]:
            out = t.update(d)  # type: ignore[attr-defined]
            return out.xywh, out.track_id

        return step

    return factory


def roboflow(cls_name: str) -> Callable[[], StepFn]:
    import supervision as sv
    import trackers

    def factory() -> StepFn:
        t = getattr(trackers, cls_name)(frame_rate=25)

        def step(d: Detections) -> tuple[np.ndarray, np.ndarray]:
            out = t.update(
                sv.Detections(xyxy=d.xyxy.copy(), confidence=d.confidence.copy(), class_id=d.class_id.copy())
            )
            keep = out.tracker_id >= 0 if out.tracker_id is not None else np.zeros(0, bool)
            xywh = out.xyxy[keep].copy()
            xywh[:, 2:] -= xywh[:, :2]
            return xywh, out.tracker_id[keep]

        return step

    return factory


def measure(
    factory: Callable[[], StepFn], data: dict[str, tuple[MOTSequence, list]], repeats: int = REPEATS
) -> dict[str, float]:
    scores, best = [], float("inf")
    frames = sum(len(d) for _, d in data.values())
    for r in range(repeats):
        elapsed, per_seq = 0.0, []
        for gt, dets in data.values():
            step = factory()
            rows = []
            for frame, d in dets:
                t0 = time.perf_counter()
                xywh, ids = step(d)
                elapsed += time.perf_counter() - t0
                rows += [(frame, ids[i], *xywh[i]) for i in range(len(ids))]
            a = np.asarray(rows, dtype=float).reshape(-1, 6)
            per_seq.append(evaluate_sequence(gt, MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6])))
        best = min(best, elapsed)
        if r == 0:
            scores = per_seq
    s = combine(scores).summary()
    return {"HOTA": s["HOTA"], "MOTA": s["MOTA"], "IDF1": s["IDF1"], "IDSW": s["IDSW"], "FPS": frames / best}


def compare(repeats: int = REPEATS) -> list[dict[str, object]]:
    """Every contender on the same noisy TUD detections; one row per tracker (FPS: best of `repeats`)."""
    data = {}
    for k, name in enumerate(SEQUENCES):
        gt = read_mot(FIXTURES / name / "gt.txt")
        data[name] = (gt, noisy(gt, seed=k))
    contenders: dict[str, Callable[[], StepFn]] = {
        "spoton ByteTrack": ours(lambda: ByteTrack(ByteTrackConfig(frame_rate=25))),
        "spoton BoT-SORT (no frames)": ours(
            lambda: BoTSORT(BoTSORTConfig(frame_rate=25, track_high_thresh=0.5, new_track_thresh=0.6))
        ),
    }
    try:
        import supervision  # noqa: F401
        import trackers  # noqa: F401

        contenders["trackers ByteTrackTracker"] = roboflow("ByteTrackTracker")
        contenders["trackers BoTSORTTracker"] = roboflow("BoTSORTTracker")
        contenders["trackers SORTTracker"] = roboflow("SORTTracker")
    except ImportError:
        print("(Roboflow `trackers` not installed: run with `uv run --with trackers ...` to compare)")
    return [{"tracker": name, **measure(factory, data, repeats)} for name, factory in contenders.items()]


def print_table(rows: list[dict[str, object]]) -> None:
    print(f"{'tracker':32} {'HOTA':>6} {'MOTA':>6} {'IDF1':>6} {'IDSW':>5} {'FPS':>8}")
    for r in rows:
        print(f"{r['tracker']:32} {r['HOTA']:6.3f} {r['MOTA']:6.3f} {r['IDF1']:6.3f} {r['IDSW']:5d} {r['FPS']:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line")
    args = parser.parse_args()
    rows = compare(args.repeats)
    print(json.dumps(rows) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        print_table(rows)


if __name__ == "__main__":
    main()
