"""Export files are readable by their readers: csv, json, and the MOT format (our parser)."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from spoton.errors import InvalidInputError
from spoton.evaluation import parse_mot
from spoton.exports import EXPORT_COLUMNS, write_export

ROWS = [
    ("cam_a", 1, 0.0, 1, 10, 5.0, 6.0, 25.0, 66.0, 0.9, 3.0, 4.0),
    ("cam_a", 2, 0.1, 1, 10, 6.0, 6.0, 26.0, 66.0, 0.8, 3.1, 4.0),
    ("cam b/../x", 1, 0.0, 3, 11, 50.0, 60.0, 70.0, 120.0, 0.7, None, None),
]


def test_csv(tmp_path: Path) -> None:
    path = write_export("csv", ROWS, tmp_path / "e", meta={})
    with path.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert len(rows) == 4
    assert rows[3][10] == ""


def test_json(tmp_path: Path) -> None:
    data = json.loads(write_export("json", ROWS, tmp_path / "e", meta={"task_id": "t"}).read_text())
    assert data["task_id"] == "t"
    assert data["detections"][1]["frame"] == 2
    assert data["detections"][2]["floor_x"] is None


def test_mot_zip_has_one_parsable_file_per_camera(tmp_path: Path) -> None:
    path = write_export("mot", ROWS, tmp_path / "e", meta={})
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert names == ["cam_a.txt", "cam_b____x.txt"]  # camera names never become paths
        seq = parse_mot(archive.read("cam_a.txt").decode())
    assert seq.frame.tolist() == [1, 2]
    assert seq.track_id.tolist() == [1, 1]
    assert seq.tlwh[0].tolist() == [5.0, 6.0, 20.0, 60.0]
    assert not list(tmp_path.glob(".*"))  # temporary parts are gone


def test_xlsx_reads_back_with_openpyxl(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_export("xlsx", ROWS, tmp_path / "e", meta={"task_id": "t"})
    book = load_workbook(path)
    rows = list(book["detections"].iter_rows(values_only=True))
    assert rows[0] == EXPORT_COLUMNS
    assert rows[1][:5] == ("cam_a", 1, 0, 1, 10)
    assert rows[3][10] is None
    assert list(book["export"].iter_rows(values_only=True)) == [("task_id", "t")]


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="csv, json, mot"):
        write_export("pdf", ROWS, tmp_path / "e", meta={})
