"""Hand-checkable cases for the metrics and the MOT file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from spoton.errors import MOTFormatError
from spoton.evaluation import MOTSequence, evaluate_sequence, parse_mot, read_mot, write_mot


def seq(rows: list[tuple[int, int, float, float]]) -> MOTSequence:
    a = np.asarray(rows, dtype=float)
    return MOTSequence.from_arrays(a[:, 0], a[:, 1], np.c_[a[:, 2:4], np.full((len(a), 2), 10.0)])


GT = seq([(f, 1, 0, 0) for f in range(1, 11)] + [(f, 2, 50, 0) for f in range(1, 11)])


def test_perfect_tracker_scores_one_everywhere() -> None:
    s = evaluate_sequence(GT, GT).summary()
    for key in ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "recall", "precision"):
        assert s[key] == pytest.approx(1.0), key
    assert (s["IDSW"], s["FP"], s["FN"], s["MT"]) == (0, 0, 0, 2)


def test_identity_swap_halfway_is_one_switch_per_target() -> None:
    hyp = seq(
        [(f, 1 if f <= 5 else 2, 0, 0) for f in range(1, 11)] + [(f, 2 if f <= 5 else 1, 50, 0) for f in range(1, 11)]
    )
    s = evaluate_sequence(GT, hyp).summary()
    assert s["IDSW"] == 2
    assert s["MOTA"] == pytest.approx(1 - 2 / 20)
    assert s["IDF1"] == pytest.approx(0.5)
    assert s["DetA"] == pytest.approx(1.0)
    assert s["AssA"] == pytest.approx(0.5 * 5 / 15 + 0.5 * 5 / 15)  # each pair: 5 TP of 15 frames spanned


def test_misses_and_false_positives_are_counted() -> None:
    hyp = seq([(f, 7, 0, 0) for f in range(1, 6)] + [(3, 9, 200, 200)])
    s = evaluate_sequence(GT, hyp).summary()
    assert (s["TP"], s["FN"], s["FP"]) == (5, 15, 1)
    assert s["MOTA"] == pytest.approx((5 - 1) / 20)
    assert s["ML"] == 1  # gt 2 never found


def test_mot_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    s = MOTSequence.from_arrays([2, 1], [5, 4], [[1.25, 2.5, 10, 20], [0, 0, 3, 4]], [0.5, 0.75])
    write_mot(path, s)
    back = read_mot(path)
    assert back.frame.tolist() == [1, 2]
    np.testing.assert_allclose(back.tlwh, [[0, 0, 3, 4], [1.25, 2.5, 10, 20]])
    np.testing.assert_allclose(back.confidence, [0.75, 0.5])
    write_mot(path, s, ground_truth=True)
    assert path.read_text().splitlines()[0].startswith("1,4,0.00,0.00,3.00,4.00,1,")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,1,0,0,10\n", "t.txt:1: expected >= 6"),
        ("1,1,0,0,10,10\n1,x,0,0,1,1\n", "t.txt:2: non-numeric"),
        ("1.5,1,0,0,10,10\n", "frame and id must be integers"),
        ("1,1,0,0,-3,10\n", "width and height must be >= 0"),
        ("1,1,0,nan,3,10\n", "finite"),
    ],
)
def test_malformed_mot_names_the_line(text: str, message: str) -> None:
    with pytest.raises(MOTFormatError, match=message):
        parse_mot(text, source="t.txt")


def test_empty_inputs() -> None:
    assert len(parse_mot("\n# comment\n")) == 0
    s = evaluate_sequence(GT, MOTSequence.empty()).summary()
    assert s["MOTA"] == 0.0
    assert s["HOTA"] == 0.0
