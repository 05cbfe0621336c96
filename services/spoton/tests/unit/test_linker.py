"""Global ids: overlapping views by floor distance, non-overlapping ones by appearance."""

from __future__ import annotations

import numpy as np
from spoton.pipeline import GlobalLinker, Observation


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).random(32).astype(np.float32)
    return v / np.linalg.norm(v)


def test_same_person_in_overlapping_views_gets_one_id() -> None:
    linker = GlobalLinker(overlap_distance_m=1.0)
    red, blue = unit(1), unit(2)
    first = linker.update(0.0, [Observation("a1", 1, (3.0, 3.0), red), Observation("a1", 2, (6.0, 3.0), blue)])
    assert [link.reason for link in first] == ["new", "new"]
    second = linker.update(0.1, [
        Observation("a1", 1, (3.1, 3.0), red), Observation("a1", 2, (6.0, 3.1), blue),
        Observation("a2", 7, (3.3, 3.1), red),  # a2 starts seeing the first person
    ])  # fmt: skip
    assert second[2].label == first[0].label
    assert second[2].reason == "overlap"
    assert 0.5 <= second[2].confidence <= 1.0


def test_person_reappearing_in_another_room_is_relinked_by_appearance() -> None:
    linker = GlobalLinker(appearance_threshold=0.1)
    red, blue = unit(1), unit(2)
    a = linker.update(0.0, [Observation("a", 1, (3.0, 3.0), red), Observation("a", 2, (5.0, 3.0), blue)])
    linker.update(1.0, [Observation("a", 2, (5.0, 3.0), blue)])  # red walked out of view
    later = linker.update(5.0, [Observation("b", 4, (15.0, 3.0), red * 0.99 + blue * 0.01)])
    assert later[0].label == a[0].label
    assert later[0].reason == "appearance"
    stranger = linker.update(6.0, [Observation("c", 9, (25.0, 3.0), unit(3))])
    assert stranger[0].reason == "new"
    assert stranger[0].label not in (a[0].label, a[1].label)


def test_a_person_visible_elsewhere_is_not_stolen_by_appearance() -> None:
    linker = GlobalLinker(appearance_threshold=0.5)
    red = unit(1)
    first = linker.update(0.0, [Observation("a", 1, (3.0, 3.0), red)])
    both = linker.update(1.0, [Observation("a", 1, (3.0, 3.0), red), Observation("c", 5, (25.0, 3.0), red)])
    assert both[1].label != first[0].label  # same colours, but the first is visibly elsewhere right now
