"""DXF and GeoJSON import through GDAL, via the real CLI into a database of their own.

The drawings are real files: DXF written with ezdxf in UTM zone 36N (metres), GeoJSON by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ezdxf
import psycopg
import pytest
from indoormaps.drawings import import_drawings
from indoormaps.errors import DrawingError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from indoormaps_http_support import cli_binary

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

UTM36N = "EPSG:32636"
X0, Y0 = 350_000.0, 6_650_000.0  # near 30.3°E 59.96°N, the campus's neighbourhood


def _floor_dxf(path: Path, floor: int) -> Path:
    """Two rooms and an elevator off a corridor, a door into each, walls, labels and a walkway."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    for layer in ("ROOMS", "CORRIDOR", "ELEVATOR", "DOORS", "WALLS", "ROOM-NAMES", "NAV", "FURNITURE"):
        doc.layers.add(layer)

    def box(x: float, y: float, w: float, h: float, layer: str) -> None:
        msp.add_lwpolyline([(X0 + x, Y0 + y), (X0 + x + w, Y0 + y), (X0 + x + w, Y0 + y + h), (X0 + x, Y0 + y + h)],
                           close=True, dxfattribs={"layer": layer})  # fmt: skip

    box(0, 0, 10, 8, "ROOMS")  # 80 m²
    box(10, 0, 10, 8, "ROOMS")
    box(0, 8, 24, 3, "CORRIDOR")
    box(20, 0, 4, 4, "ELEVATOR")
    for x, name in ((5, f"Room {floor}01"), (15, f"Room {floor}02")):
        msp.add_text(name, dxfattribs={"layer": "ROOM-NAMES", "insert": (X0 + x, Y0 + 4)})
    for x in (4, 14, 21):  # doors in the corridor wall (y = 8 for the rooms, 4 for the elevator)
        y = 4 if x == 21 else 8
        msp.add_line((X0 + x, Y0 + y), (X0 + x + 1, Y0 + y), dxfattribs={"layer": "DOORS"})
    msp.add_line((X0, Y0), (X0 + 24, Y0), dxfattribs={"layer": "WALLS"})
    msp.add_line((X0, Y0), (X0, Y0 + 11), dxfattribs={"layer": "WALLS"})
    msp.add_circle((X0 + 2, Y0 + 2), 0.5, dxfattribs={"layer": "FURNITURE"})  # not mapped: skipped
    msp.add_lwpolyline([(X0 + 1, Y0 + 9.5), (X0 + 4.5, Y0 + 9.5), (X0 + 14.5, Y0 + 9.5), (X0 + 21.5, Y0 + 9.5)],
                       dxfattribs={"layer": "NAV"})  # fmt: skip
    doc.saveas(path)
    return path


def _polygon(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture(scope="module")
def drawings_dsn(postgres_server) -> str:  # type: ignore[no-untyped-def]
    dsn = postgres_server.create_database("indoormaps_drawings", extensions=("postgis", "pgrouting", "pg_trgm"))
    done = subprocess.run([cli_binary(), "migrate", "--database-url", dsn], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return dsn


@pytest.fixture
def run_import(drawings_dsn: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [cli_binary(), "import", *args, "--database-url", drawings_dsn]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    return run


def _query(dsn: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def _state(dsn: str) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    versions = _query(dsn, "SELECT id, source_name, source_sha256, is_current FROM indoor_data_version ORDER BY id")
    tables = (
        "indoor_unit",
        "indoor_opening",
        "indoor_level",
        "indoor_base_floor",
        "indoor_nav_node",
        "indoor_nav_edge",
    )
    return versions, {t: int(_query(dsn, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}  # noqa: S608


def test_dxf_floors_import_with_rooms_doors_walls_and_a_routable_graph(
    drawings_dsn: str, run_import: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    floors = [str(_floor_dxf(tmp_path / f"floor{n}.dxf", n)) for n in (1, 2)]
    done = run_import("dxf", *floors, "--level", "0", "--level", "1", "--source-crs", UTM36N,
                      "--level-name", "Ground", "--level-name", "First", "--building", "Annex")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "importing dxf" in done.stdout + done.stderr  # the progress bar
    assert "imported in" in done.stdout
    assert "layer:FURNITURE=2" in done.stdout  # unmapped layers are counted, not silently dropped

    ((version, counts, source),) = _query(
        drawings_dsn, "SELECT id, counts, source_name FROM indoor_data_version WHERE is_current"
    )
    assert source == "dxf:floor1.dxf,floor2.dxf"
    assert counts["levels"] == 2
    assert counts["units"] == 8  # 2 rooms + corridor + elevator, per floor
    assert counts["openings"] == 6
    assert counts["base_floor"] == 2 + 4  # a level outline per floor + the wall lines
    assert counts["nodes_path"] == 8
    assert counts["nodes_door"] == 6
    assert counts["nodes_elevator"] == 2
    assert counts["edges_elevator"] == 1  # the stacked elevator rooms are joined across the floors
    assert counts["graph_components"] == 1  # both floors reachable from each other

    levels = _query(drawings_dsn, "SELECT ordinal, name FROM indoor_level WHERE version_id = %s ORDER BY 1", (version,))
    assert levels == [(0, "Ground"), (1, "First")]
    rooms = _query(
        drawings_dsn,
        "SELECT u.name, u.category, l.ordinal, ST_Area(u.geom::geography), ST_X(u.label_point), ST_Y(u.label_point) "
        "FROM indoor_unit u JOIN indoor_level l ON l.id = u.level_id "
        "WHERE u.version_id = %s AND u.category = 'room' ORDER BY u.name",
        (version,),
    )
    assert [(r[0], r[2]) for r in rooms] == [("Room 101", 0), ("Room 102", 0), ("Room 201", 1), ("Room 202", 1)]
    for _, _, _, area, lon, lat in rooms:
        assert area == pytest.approx(80.0, rel=0.01)  # reprojected from UTM metres, not degrees
        assert 30.2 < lon < 30.4
        assert 59.9 < lat < 60.0
    categories = _query(
        drawings_dsn, "SELECT DISTINCT category FROM indoor_unit WHERE version_id = %s ORDER BY 1", (version,)
    )
    assert categories == [("elevator",), ("room",), ("walkway",)]
    (door_len,) = _query(drawings_dsn, "SELECT max(ST_Length(geom::geography)) FROM indoor_opening")[0]
    assert door_len == pytest.approx(1.0, rel=0.01)
    # pgRouting finds a path from Room 101's door on the ground floor to Room 202's door upstairs.
    (edges,) = _query(
        drawings_dsn,  # the version id is an int from the database: safe to inline in pgr's edge SQL
        "SELECT count(*) FROM pgr_dijkstra('SELECT id, source_id AS source, target_id AS target, cost_s AS cost, "  # noqa: S608
        f"reverse_cost_s AS reverse_cost FROM indoor_nav_edge WHERE version_id = {int(version)}', "
        "(SELECT min(id) FROM indoor_nav_node WHERE version_id = %s AND kind = 'door'), "
        "(SELECT max(id) FROM indoor_nav_node WHERE version_id = %s AND kind = 'door'))",
        (version, version),
    )[0]
    assert edges > 3

    # Idempotent: the same files, levels and mapping leave the current version alone.
    before = _state(drawings_dsn)
    again = run_import("dxf", *floors, "--level", "0", "--level", "1", "--source-crs", UTM36N,
                       "--level-name", "Ground", "--level-name", "First", "--building", "Annex")  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"data version {version}: unchanged" in again.stdout
    assert _state(drawings_dsn) == before


def test_geojson_import_by_file_name_and_layer_property(
    drawings_dsn: str, run_import: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    rooms = tmp_path / "rooms.geojson"  # no `layer` property: the file name maps to units
    rooms.write_text(json.dumps(_collection([
        {"type": "Feature", "properties": {"name": "Library"}, "geometry": _polygon(30.30, 59.95, 0.0002, 0.0001)},
        {"type": "Feature", "properties": {"name": "WC", "category": "restroom"},
         "geometry": _polygon(30.3002, 59.95, 0.0001, 0.0001)},
    ])))  # fmt: skip
    mixed = tmp_path / "plan.geojson"
    mixed.write_text(json.dumps(_collection([
        {"type": "Feature", "properties": {"layer": "DOORS"},
         "geometry": {"type": "LineString", "coordinates": [[30.3001, 59.9501], [30.30012, 59.9501]]}},
        {"type": "Feature", "properties": {"layer": "WALLS"},
         "geometry": {"type": "LineString", "coordinates": [[30.30, 59.95], [30.3003, 59.95]]}},
        {"type": "Feature", "properties": {"layer": "Parking"}, "geometry": _polygon(30.31, 59.95, 0.001, 0.001)},
    ])))  # fmt: skip
    done = run_import("geojson", str(rooms), str(mixed), "--level", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    ((version, counts),) = _query(drawings_dsn, "SELECT id, counts FROM indoor_data_version WHERE is_current")
    assert (counts["levels"], counts["units"], counts["openings"], counts["base_floor"]) == (1, 2, 1, 2)
    assert "layer:Parking=1" in done.stdout
    units = _query(
        drawings_dsn,
        "SELECT u.name, u.category, l.ordinal FROM indoor_unit u JOIN indoor_level l ON l.id = u.level_id "
        "WHERE u.version_id = %s ORDER BY u.name",
        (version,),
    )
    assert units == [("Library", "room", 3), ("WC", "restroom", 3)]
    # Searchable like any room: the trigram column is filled.
    assert _query(drawings_dsn, "SELECT search_name FROM indoor_unit WHERE name = 'Library' AND version_id = %s",
                  (version,)) == [("Library",)]  # fmt: skip


def test_broken_drawings_change_nothing_and_say_why(
    drawings_dsn: str, run_import: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    good = _floor_dxf(tmp_path / "good.dxf", 1)
    assert run_import("dxf", str(good), "--level", "0", "--source-crs", UTM36N).returncode == 0
    before = _state(drawings_dsn)

    garbage = tmp_path / "broken.dxf"
    garbage.write_bytes(b"0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\nROOMS\n90\nnot-a-number\n")
    done = run_import("dxf", str(garbage), "--level", "0", "--source-crs", UTM36N)
    assert done.returncode == 1
    assert "import failed, nothing changed" in done.stderr
    assert "broken.dxf: GDAL cannot read it" in done.stderr

    # Refused before the database is touched (in-process: no CLI start-up needed to prove it).
    with pytest.raises(DrawingError, match="--source-crs"):
        import_drawings("dxf", [good], levels=[0])
    with pytest.raises(DrawingError, match="outside lon/lat"):
        import_drawings("dxf", [good], levels=[0], source_crs="EPSG:4326")

    # Valid for GDAL, but the second room's ring is too short: rejected after the venue, building,
    # level and first room were written, so this proves the rollback.
    bad_ring = tmp_path / "rooms.geojson"
    bad_ring.write_text(json.dumps(_collection([
        {"type": "Feature", "properties": {"name": "A"}, "geometry": _polygon(30.30, 59.95, 0.0002, 0.0001)},
        {"type": "Feature", "properties": {"name": "B"},
         "geometry": {"type": "Polygon", "coordinates": [[[30.3, 59.95], [30.301, 59.95], [30.3, 59.95]]]}},
    ])))  # fmt: skip
    rolled_back = run_import("geojson", str(bad_ring), "--level", "0")
    assert rolled_back.returncode == 1, rolled_back.stdout
    assert "import failed, nothing changed" in rolled_back.stderr
    assert "malformed Polygon" in rolled_back.stderr
    assert _state(drawings_dsn) == before


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    drawing = _floor_dxf(tmp_path / "floor.dxf", 1)
    unreachable = "postgresql://someone:hunter2-secret@127.0.0.1:1/indoormaps"
    done = subprocess.run(
        [cli_binary(), "import", "dxf", str(drawing), "--level", "0", "--source-crs", UTM36N,
         "--database-url", unreachable],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Error: cannot reach the database" in done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2-secret" not in done.stderr
