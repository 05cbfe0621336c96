"""Our HOTA / CLEAR / Identity against the numbers py-motmetrics publishes for the TUD sequences.

Sources are cited in tests/fixtures/mot/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spoton.evaluation import TrackingScores, combine, evaluate_sequence, read_mot

SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")

# motmetrics 1.4.0 tests/test_metrics.py::test_motchallenge_files (atol 1e-3 there):
# idf1, idp, idr, recall, precision, GT ids, MT, PT, ML, FP, FN, IDSW, Frag, MOTA, MOTP(distance)
CLEAR_IDENTITY = {
    "TUD-Campus": (
        0.557659,
        0.729730,
        0.451253,
        0.582173,
        0.941441,
        8,
        1,
        6,
        1,
        13,
        150,
        7,
        7,
        0.526462,
        0.277201,
    ),
    "TUD-Stadtmitte": (
        0.644619,
        0.819760,
        0.531142,
        0.608997,
        0.939920,
        10,
        5,
        4,
        1,
        45,
        452,
        7,
        6,
        0.564014,
        0.345904,
    ),
    "OVERALL": (
        0.624296,
        0.799176,
        0.512211,
        0.602640,
        0.940268,
        18,
        6,
        10,
        2,
        58,
        602,
        14,
        13,
        0.555116,
        0.330177,
    ),
}
# py-motmetrics test_evaluation.py (checked against TrackEval there): HOTA, DetA, AssA.
HOTA = {
    "TUD-Campus": (0.3913974378451139, 0.418047030142763, 0.36912068120832836),
    "OVERALL": (0.3999570912884786, 0.3976832912424188, 0.4124495298453543),
}


@pytest.fixture(scope="module")
def scores(mot_fixtures: Path) -> dict[str, TrackingScores]:
    out = {
        name: evaluate_sequence(read_mot(mot_fixtures / name / "gt.txt"), read_mot(mot_fixtures / name / "test.txt"))
        for name in SEQUENCES
    }
    out["OVERALL"] = combine(out[name] for name in SEQUENCES)
    return out


@pytest.mark.parametrize("name", [*SEQUENCES, "OVERALL"])
def test_clear_and_identity_match_motmetrics(scores: dict[str, TrackingScores], name: str) -> None:
    c, i = scores[name].clear, scores[name].identity
    ours = (
        i.idf1,
        i.idp,
        i.idr,
        c.recall,
        c.precision,
        c.num_gt_ids,
        c.mt,
        c.pt,
        c.ml,
        c.fp,
        c.fn,
        c.idsw,
        c.frag,
        c.mota,
        1.0 - c.motp,
    )
    expected = CLEAR_IDENTITY[name]
    for k, (got, want) in enumerate(zip(ours, expected, strict=True)):
        if isinstance(want, int):
            assert got == want, f"{name} field {k}"
        else:
            assert got == pytest.approx(want, abs=1e-6), f"{name} field {k}"


@pytest.mark.parametrize("name", ["TUD-Campus", "OVERALL"])
def test_hota_matches_published(scores: dict[str, TrackingScores], name: str) -> None:
    h = scores[name].hota
    hota, deta, assa = HOTA[name]
    assert h.hota == pytest.approx(hota, abs=1e-9)
    assert h.deta == pytest.approx(deta, abs=1e-9)
    assert h.assa == pytest.approx(assa, abs=1e-9)
