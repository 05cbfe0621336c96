"""Topology-gated linking and batch refinement on the synthetic scene, against exact ground truth.

As in `test_global_ids`, the scene's ground-truth boxes are the detections, so what is measured is
tracking + floor projection + global linking. Both linkers see the very same rendered frames.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from spoton.analytics import Sample, Tripwire, tripwire_counts, tripwire_crossings
from spoton.geometry import Homography
from spoton.pipeline import FrameProcessor, GlobalLinker, ModelSuite
from spoton.reid import CameraTopology
from spoton.reid.refine import _Params, is_feasible
from spoton.scene import COVERAGE, DEMO_TOPOLOGY, DEMO_TRIPWIRES, PALETTE, SyntheticScene, Walker, demo_cameras
from spoton.scene.figure import Appearance
from spoton.scene.scene import FloorPlan

from .test_global_ids import GroundTruthDetector

TOPOLOGY = CameraTopology.from_dict(DEMO_TOPOLOGY)
WIRES = [Tripwire.from_dict(w) for w in DEMO_TRIPWIRES]


def _run(scene: SyntheticScene, linkers: dict[str, GlobalLinker]) -> dict[str, tuple[FrameProcessor, list]]:
    """Process every frame once per linker; return each processor and its (camera, track, person, t, xy) rows."""
    cameras = tuple(c.name for c in scene.cameras)
    suite = ModelSuite("hog", "bytetrack", "color_stripes", "weights")
    homographies = {c.name: Homography(c.image_to_floor) for c in scene.cameras}
    runs = {}
    for name, linker in linkers.items():
        processor = FrameProcessor(suite, cameras, scene.fps, homographies, linker=linker)
        processor._detectors = {c: GroundTruthDetector() for c in cameras}  # type: ignore[assignment]
        runs[name] = (processor, [])
    truth: list[Sample] = []
    for frame in range(1, scene.num_frames + 1):
        t = scene.time_of(frame)
        rendered = {cam: scene.render(cam, frame) for cam in cameras}
        truth += [Sample(b.person_id, t, *b.floor_xy) for _, gt in rendered.values() for b in gt]
        for processor, rows in runs.values():
            results = []
            for cam in cameras:
                processor._detectors[cam].boxes = rendered[cam][1]  # type: ignore[attr-defined]
                results.append(processor.process_camera(cam, rendered[cam][0]))
            processor.link(t, results)
            for cf in results:
                gts = rendered[cf.camera][1]
                for i in range(len(cf.track_id)):
                    dist = [np.abs(np.asarray(b.xyxy) - cf.xyxy[i]).sum() for b in gts]
                    person = gts[int(np.argmin(dist))].person_id if dist and min(dist) < 20 else None
                    xy = (float(cf.floor[i, 0]), float(cf.floor[i, 1])) if cf.floor is not None else None
                    rows.append((cf.camera, int(cf.track_id[i]), person, t, xy))
    runs["truth"] = (None, truth)  # type: ignore[assignment]
    return runs


def _accuracy(processor: FrameProcessor, rows: list) -> tuple[float, int]:
    """Share of matched boxes whose global id is the one best paired with their person (Hungarian)."""
    pairs: Counter[tuple[int, int]] = Counter()
    for camera, track, person, _, _ in rows:
        if person is not None:
            pairs[(processor.linker.assigned[(camera, track)].label, person)] += 1
    labels = sorted({a for a, _ in pairs})
    persons = sorted({b for _, b in pairs})
    matrix = np.array([[pairs[(a, b)] for b in persons] for a in labels])
    r, c = linear_sum_assignment(-matrix)
    return float(matrix[r, c].sum() / matrix.sum()), len(labels)


@pytest.mark.slow
def test_topology_and_refinement_keep_global_id_accuracy_and_every_link_plausible(scene: SyntheticScene) -> None:
    runs = _run(scene, {"plain": GlobalLinker(), "topology": GlobalLinker(topology=TOPOLOGY)})
    plain_acc, _ = _accuracy(*runs["plain"])
    processor, rows = runs["topology"]
    online_acc, _ = _accuracy(processor, rows)
    processor.linker.refine()
    refined_acc, ids = _accuracy(processor, rows)
    print(f"global-id accuracy: plain {plain_acc:.3f}, topology {online_acc:.3f}, refined {refined_acc:.3f}; {ids} ids")
    assert refined_acc >= plain_acc - 1e-9  # the topology and the refinement do not cost accuracy
    assert refined_acc >= 0.85
    assert ids <= 6 + 2
    # Every refined person is a plausible story under the topology.
    people: dict[int, list] = {}
    for key, link in processor.linker.assigned.items():
        people.setdefault(link.label, []).append(processor.linker.evidence[key])
    params = _Params(TOPOLOGY, 1.0, 2.5, 60.0)
    assert all(is_feasible(members, params) for members in people.values())
    # Tripwire counts from the refined ids equal the exact ones, and are not all zero.
    hyp = [
        Sample(processor.linker.assigned[(cam, track)].label, t, *xy) for cam, track, _, t, xy in rows if xy is not None
    ]
    truth = runs["truth"][1]
    got = tripwire_counts(tripwire_crossings(hyp, WIRES), WIRES)
    want = tripwire_counts(tripwire_crossings(truth, WIRES), WIRES)
    assert {n: (c["forward"], c["backward"]) for n, c in got.items()} == {
        n: (c["forward"], c["backward"]) for n, c in want.items()
    }
    assert sum(c["total"] for c in want.values()) >= 3


@pytest.mark.slow
def test_a_lookalike_appearing_two_rooms_away_too_soon_is_never_linked() -> None:
    """Two people dressed alike: one leaves room A's views, the other appears in room C 0.3 s later."""
    look = Appearance(*PALETTE[0])
    first = Walker(1, ((3.0, 3.0), (6.0, 3.5)), 1.0, 1.75, look, start_s=0.0)  # ends (vanishes) at ~3.04 s
    second = Walker(2, ((25.0, 3.0), (27.5, 4.0)), 1.0, 1.75, look, start_s=first.end_s + 0.3)
    scene = SyntheticScene(
        FloorPlan(31.0, 10.0), demo_cameras(), [first, second], fps=10.0, num_frames=60, coverage=COVERAGE
    )
    runs = _run(scene, {"plain": GlobalLinker(), "topology": GlobalLinker(topology=TOPOLOGY)})

    def labels_of(run: str) -> dict[int, set[int]]:
        processor, rows = runs[run]
        found: dict[int, set[int]] = {}
        for camera, track, person, _, _ in rows:
            if person is not None:
                found.setdefault(person, set()).add(processor.linker.assigned[(camera, track)].label)
        return found

    plain = labels_of("plain")
    assert plain[1] & plain[2]  # appearance alone links the lookalikes: the gate has work to do
    gated = labels_of("topology")
    assert not gated[1] & gated[2]
    runs["topology"][0].linker.refine()
    refined = labels_of("topology")
    assert not refined[1] & refined[2]
