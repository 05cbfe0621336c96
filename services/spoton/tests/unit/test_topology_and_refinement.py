"""Camera topology gates cross-camera links; batch refinement splits impossible persons and joins split ones."""

from __future__ import annotations

import numpy as np
import pytest
from spoton.errors import InvalidInputError
from spoton.pipeline import GlobalLinker, Observation
from spoton.reid import CameraTopology
from spoton.reid.refine import Tracklet, refine_global_ids

TOPOLOGY = CameraTopology.from_dict(
    {
        "overlaps": [["a1", "a2"]],
        "links": [{"cameras": ["a1", "b"], "min_s": 2.0, "max_s": 30.0}, {"cameras": ["b", "c"], "max_s": 30.0}],
    }
)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).random(32).astype(np.float32)
    return v / np.linalg.norm(v)


def test_topology_windows_overlaps_and_missing_links() -> None:
    assert TOPOLOGY.allows("a1", "b", 2.0)
    assert TOPOLOGY.allows("b", "a1", 30.0)  # links are both ways
    assert not TOPOLOGY.allows("a1", "b", 1.9)  # faster than anyone walks it
    assert not TOPOLOGY.allows("a1", "b", 30.1)
    assert TOPOLOGY.allows("a1", "a2", 0.0)  # overlapping views
    assert not TOPOLOGY.allows("a1", "c", 10.0)  # no direct way: one passes b's camera
    assert not TOPOLOGY.plausible("a1", "c", 10.0)
    assert TOPOLOGY.plausible("a1", "elsewhere", 0.1)  # cameras the topology does not name are free
    assert CameraTopology.from_dict(TOPOLOGY.to_dict()) == TOPOLOGY


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"links": [{"cameras": ["a", "a"], "max_s": 3}]}, "two different cameras"),
        ({"links": [{"cameras": ["a", "b"], "min_s": 5, "max_s": 3}]}, "min_s <= max_s"),
        ({"links": [{"cameras": ["a", "b"]}]}, "numbers of seconds"),
        ({"overlaps": [["a"]]}, "two different cameras"),
        ({"wormholes": []}, "unknown keys"),
    ],
)
def test_bad_topologies_are_refused(data: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CameraTopology.from_dict(data)


def _leave_a1_then_appear(camera: str, gap_s: float, topology: CameraTopology | None) -> tuple[int, int]:
    linker = GlobalLinker(appearance_threshold=0.2, topology=topology)
    red = unit(1)
    first = linker.update(0.0, [Observation("a1", 1, (3.0, 3.0), red)])
    linker.update(1.0, [Observation("a1", 1, (7.0, 3.0), red)])
    later = linker.update(1.0 + gap_s, [Observation(camera, 5, None, red)])
    return first[0].label, later[0].label


def test_an_identical_looking_track_is_linked_only_after_a_plausible_walk() -> None:
    assert len(set(_leave_a1_then_appear("b", 0.5, None))) == 1  # without topology: linked
    assert len(set(_leave_a1_then_appear("b", 0.5, TOPOLOGY))) == 2  # 0.5 s from a1 to b: too fast
    assert len(set(_leave_a1_then_appear("b", 2.5, TOPOLOGY))) == 1  # a plausible walk
    assert len(set(_leave_a1_then_appear("c", 5.0, TOPOLOGY))) == 2  # no direct way from a1 to c
    assert len(set(_leave_a1_then_appear("b", 31.0, TOPOLOGY))) == 2  # longer than the window


def _tracklet(camera: str, tid: int, t0: float, t1: float, emb: np.ndarray, x: float = 0.0) -> Tracklet:
    t = Tracklet(camera, tid, t0, t1)
    for ts in np.arange(t0, t1 + 1e-9, 0.5):
        t.add_embedding(emb)
        t.floor[round(float(ts), 3)] = (x, 3.0)
    return t


def test_refinement_splits_an_impossible_person_and_keeps_the_rest() -> None:
    red = unit(1)
    a = _tracklet("a1", 1, 0.0, 5.0, red)
    c = _tracklet("c", 1, 5.5, 9.0, red, x=25.0)  # same look, 0.5 s later, two rooms away
    b = _tracklet("b", 1, 8.0, 12.0, unit(2), x=15.0)
    online = {a.key: 1, c.key: 1, b.key: 2}  # an online decision without topology linked a and c
    refined = refine_global_ids([a, b, c], online, topology=TOPOLOGY)
    assert refined[a.key].label != refined[c.key].label
    assert refined[b.key].label == 2
    assert {r.label for r in refined.values()} == {1, 2, 3}
    assert refined[c.key].changed
    assert not refined[a.key].changed
    assert refined[a.key].reason == "new"
    assert refined[a.key].confidence == 1.0


def test_refinement_joins_a_person_split_online_and_reports_confidences() -> None:
    red, blue = unit(1), unit(2)
    a1 = _tracklet("a1", 1, 0.0, 5.0, red, x=3.0)
    a2 = _tracklet("a2", 4, 0.0, 5.0, red, x=3.2)  # the overlapping view of the same person
    b = _tracklet("b", 7, 8.0, 12.0, red, x=15.0)  # walked on to b: 3 s, inside the window
    other = _tracklet("b", 9, 0.0, 12.0, blue, x=17.0)
    online = {a1.key: 1, a2.key: 1, b.key: 3, other.key: 2}  # online missed the a -> b link
    refined = refine_global_ids([a1, a2, b, other], online, topology=TOPOLOGY)
    assert refined[b.key].label == refined[a1.key].label == refined[a2.key].label == 1
    assert refined[other.key].label == 2
    assert refined[a2.key].reason == "overlap"
    assert refined[a2.key].confidence == 0.9  # 0.2 m apart: 1 - 0.5 * 0.2 / 1.0
    assert refined[b.key].reason == "appearance"
    assert refined[b.key].confidence == 1.0  # identical appearance


def test_refinement_never_joins_across_an_impossible_transit() -> None:
    red = unit(1)
    a = _tracklet("a1", 1, 0.0, 5.0, red)
    b = _tracklet("b", 2, 5.5, 9.0, red, x=15.0)  # 0.5 s later: faster than the 2 s minimum
    refined = refine_global_ids([a, b], {a.key: 1, b.key: 2}, topology=TOPOLOGY)
    assert refined[a.key].label != refined[b.key].label
    merged = refine_global_ids([a, b], {a.key: 1, b.key: 2}, topology=None)
    assert merged[a.key].label == merged[b.key].label  # without the topology they would have been joined
