"""Campus import into real PostGIS: counts, quirk cleaning, idempotence, atomic failure, CLI."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from indoormaps.cli import main
from indoormaps.errors import ImdfError
from indoormaps.imdf import import_imdf

pytestmark = pytest.mark.postgres


def _rows(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _current() -> tuple[int, dict[str, int]]:
    (version, counts), *_ = _rows("SELECT id, counts FROM indoor_data_version WHERE is_current")
    return int(version), counts if isinstance(counts, dict) else json.loads(counts)  # type: ignore[arg-type]


def _table_sizes() -> dict[str, int]:
    tables = ["indoor_data_version", "indoor_unit", "indoor_level", "indoor_nav_node", "indoor_nav_edge"]
    return {t: int(_rows(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}  # noqa: S608


def test_campus_counts(indoor_dsn: str) -> None:
    _, counts = _current()
    assert counts["levels"] == 8
    assert counts["units"] == 443
    assert counts["openings"] == 472
    assert counts["amenities"] == 37
    assert counts["nodes_path"] == 2726  # every navPath point
    assert counts["nodes_door"] == 472  # one per opening
    assert counts["nodes_elevator"] == 5  # one cabin per elevator unit
    assert counts["nav_nodes"] == 2726 + 472 + 5
    assert counts["edges_stairs"] == 36  # vertical navPath links inside stairwells
    assert counts["edges_elevator"] == 4  # five stacked cabins, 1→2→3→4→5
    assert counts["edges_door"] == 446  # 444 linked doors + 2 building entrances
    assert counts["nav_edges"] == 3589


def test_quirks_are_cleaned(indoor_dsn: str) -> None:
    version, _ = _current()
    ordinals = _rows(
        "SELECT b.name, array_agg(l.ordinal ORDER BY l.ordinal), "
        "array_agg(l.source_ordinal ORDER BY l.ordinal) "
        "FROM indoor_level l JOIN indoor_building b ON b.id = l.building_id WHERE l.version_id = %s "
        "GROUP BY b.name ORDER BY b.name",
        (version,),
    )
    # Both buildings' entrance floors become ordinal 0 (one was numbered from 1 in the source).
    assert ordinals == [
        ("Academic building №3", [0, 1, 2, 3, 4], [1, 2, 3, 4, 5]),
        ("Main academic building", [0, 1, 2], [0, 1, 2]),
    ]
    assert _rows("SELECT DISTINCT category FROM indoor_opening WHERE version_id = %s", (version,)) == [("pedestrian",)]
    # `builing_id` typo: indoor navPath points keep their building.
    assert _rows(
        "SELECT count(*) FROM indoor_nav_node WHERE version_id = %s AND kind = 'path' AND building_id IS NOT NULL",
        (version,),
    ) == [(950,)]
    # Unit names come from occupants when the unit itself has none.
    assert ("Classroom 104", "Кабинет 104 | Classroom 104 | 104") in _rows(
        "SELECT name, search_name FROM indoor_unit WHERE version_id = %s AND name = 'Classroom 104'",
        (version,),
    )
    lengths = _rows(
        "SELECT kind, min(length_m), max(length_m) FROM indoor_nav_edge "
        "WHERE version_id = %s AND is_vertical "
        "GROUP BY kind ORDER BY kind",
        (version,),
    )
    assert lengths[0][0] == "elevator"
    assert lengths[0][1] == pytest.approx(3.6)
    assert lengths[1][0] == "stairs"
    assert 7.2 <= lengths[1][1] <= lengths[1][2] < 10


def test_geodesic_lengths_and_indexes(indoor_dsn: str) -> None:
    version, _ = _current()
    # Lengths are on the ellipsoid, not EPSG:3857 (which would inflate them ~2x at 60°N).
    (ratio,) = _rows(
        "SELECT avg(length_m / ST_Length(ST_Transform(geom, 3857))) FROM indoor_nav_edge "
        "WHERE version_id = %s AND NOT is_vertical AND length_m > 5",
        (version,),
    )[0]
    assert 0.49 < float(ratio) < 0.51  # cos(60°) = 0.5
    indexes = {row[0] for row in _rows("SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'indoor_%%'")}
    assert any("gin_trgm_ops" in d and "search_name" in d for d in indexes)
    for table in ("indoor_unit", "indoor_base_floor", "indoor_nav_edge", "indoor_opening"):
        assert any(f"ON public.{table} USING gist (geom)" in d for d in indexes), table


def test_reimport_is_idempotent(indoor_dsn: str, campus_dir: Path) -> None:
    before_version, before_counts = _current()
    sizes = _table_sizes()
    report = import_imdf(campus_dir)
    assert not report.created
    assert report.version_id == before_version
    assert report.counts == before_counts
    assert _table_sizes() == sizes


def _corrupt_copy(campus_dir: Path, tmp_path: Path, file: str, edit: object) -> Path:
    copy = tmp_path / "campus"
    shutil.copytree(campus_dir, copy)
    target = copy / file
    target.chmod(0o644)
    document = json.loads(target.read_text())
    edit(document)  # type: ignore[operator]
    target.write_text(json.dumps(document))
    return copy


def test_failed_import_changes_nothing(indoor_dsn: str, campus_dir: Path, tmp_path: Path) -> None:
    before = _current()
    sizes = _table_sizes()

    def dangling(document: dict) -> None:  # type: ignore[type-arg]
        # The last feature read: everything before it was already inserted when this fails.
        document["features"][-1]["properties"]["neighbours"].append("00000000-0000-0000-0000-000000000000")

    broken = _corrupt_copy(campus_dir, tmp_path, "navPath.geojson", dangling)
    with pytest.raises(ImdfError, match="neighbour '00000000-0000-0000-0000-000000000000' does not exist"):
        import_imdf(broken)
    assert _current() == before
    assert _table_sizes() == sizes


def test_bad_geometry_rolls_back(indoor_dsn: str, campus_dir: Path, tmp_path: Path) -> None:
    sizes = _table_sizes()

    def bad_ring(document: dict) -> None:  # type: ignore[type-arg]
        document["features"][10]["geometry"]["coordinates"] = [[[30.0, 60.0], [30.1]]]

    broken = _corrupt_copy(campus_dir, tmp_path, "opening.geojson", bad_ring)
    with pytest.raises(ImdfError, match=r"opening\.geojson#.*malformed LineString"):
        import_imdf(broken)
    assert _table_sizes() == sizes


def test_cli_imports_with_progress_and_reports(indoor_dsn: str, campus_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["import", "imdf", str(campus_dir), "--database-url", indoor_dsn])
    assert result.exit_code == 0, result.output
    assert "unchanged (same data already current)" in result.output
    assert "units: 443" in result.output
    started = time.perf_counter()
    forced = runner.invoke(main, ["import", "imdf", str(campus_dir), "--database-url", indoor_dsn, "--force"])
    seconds = time.perf_counter() - started
    assert forced.exit_code == 0, forced.output
    assert "imported in" in forced.output
    assert "importing" in forced.output
    print(f"\nIMPORT campus via CLI (forced): {seconds:.2f} s")
    # Only two versions are kept: the new current one and the previous one.
    assert int(_rows("SELECT count(*) FROM indoor_data_version")[0][0]) == 2
    bad = runner.invoke(main, ["import", "imdf", str(tmp_path), "--database-url", indoor_dsn])
    assert bad.exit_code == 1
    assert "import failed, nothing changed" in bad.output
