from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from indoormaps.errors import ImdfError
from indoormaps.imdf import read_imdf

CAMPUS_TYPES = {"venue", "building", "footprint", "level", "unit", "opening", "amenity", "occupant", "anchor",
                "detail", "nav_node", "nav_association"}  # fmt: skip


def test_campus_reads_with_non_standard_types_normalised(campus_dir: Path) -> None:
    dataset = read_imdf(campus_dir)
    assert set(dataset.features) == CAMPUS_TYPES
    assert len(dataset.of("level")) == 8
    assert len(dataset.of("unit")) == 443
    assert len(dataset.of("nav_node")) == 2726
    assert dataset.skipped == {
        "address": 447,
        "attraction": 19,
        "environment_unit": 680,
        "environment_amenity": 45,
    }
    assert dataset.language == "en"


def test_zip_and_folder_read_the_same(tmp_path: Path, campus_dir: Path) -> None:
    archive = tmp_path / "campus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(campus_dir.iterdir()):
            zf.write(path, f"spbpu/{path.name}")
    assert read_imdf(archive).sha256 == read_imdf(campus_dir).sha256


def test_truncated_file_names_the_file(tmp_path: Path, campus_dir: Path) -> None:
    copy = tmp_path / "campus"
    shutil.copytree(campus_dir, copy)
    unit = copy / "unit.geojson"
    unit.chmod(0o644)
    unit.write_bytes(unit.read_bytes()[:5000])
    with pytest.raises(ImdfError, match=r"unit\.geojson: not valid JSON"):
        read_imdf(copy)


def test_missing_path_and_non_archive(tmp_path: Path) -> None:
    with pytest.raises(ImdfError, match="no such file"):
        read_imdf(tmp_path / "nope")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ImdfError, match="not a folder or a zip"):
        read_imdf(junk)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImdfError, match="no 'venue' features"):
        read_imdf(tmp_path / "empty")
