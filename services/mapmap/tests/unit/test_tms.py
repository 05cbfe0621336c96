"""Grid maths against morecantile (the reference implementation of OGC TMS 2.0) and hostile indices."""

from __future__ import annotations

import math

import morecantile
import pytest
from mapmap.errors import InvalidTileRequest, TileOutOfRange
from mapmap.tms import TileMatrixLimits, TileMatrixSet, lks92_quad, parse_tile_index, web_mercator_quad
from pyproj import CRS

REFERENCE = morecantile.tms.get("WebMercatorQuad")


@pytest.mark.parametrize(("z", "x", "y"), [(0, 0, 0), (1, 1, 0), (3, 1, 2), (10, 575, 300), (18, 148000, 76000)])
def test_web_mercator_bounds_match_morecantile(z: int, x: int, y: int) -> None:
    ours = web_mercator_quad().tile_bounds(z, x, y)
    ref = REFERENCE.xy_bounds(x, y, z)
    assert ours == pytest.approx((ref.left, ref.bottom, ref.right, ref.top), abs=1e-6)


@pytest.mark.parametrize("z", [0, 5, 12, 24])
def test_web_mercator_resolution_and_scale_match_morecantile(z: int) -> None:
    ours = web_mercator_quad().matrix(z)
    ref = REFERENCE.matrix(z)
    assert ours.cell_size == pytest.approx(ref.cellSize, rel=1e-12)
    assert ours.scale_denominator == pytest.approx(ref.scaleDenominator, rel=1e-12)
    assert (ours.matrix_width, ours.matrix_height) == (ref.matrixWidth, ref.matrixHeight)


def test_512_tiles_cover_the_same_ground_at_twice_the_pixels() -> None:
    at2x = web_mercator_quad(512)
    ref = morecantile.TileMatrixSet.custom(
        [-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244],
        CRS.from_epsg(3857),
        tile_width=512,
        tile_height=512,
        minzoom=0,
        maxzoom=12,
    )
    for z, x, y in [(0, 0, 0), (7, 72, 38), (12, 2300, 1200)]:
        r = ref.xy_bounds(x, y, z)
        assert at2x.tile_bounds(z, x, y) == pytest.approx((r.left, r.bottom, r.right, r.top), abs=1e-6)
        assert at2x.resolution(z) == pytest.approx(ref.matrix(z).cellSize, rel=1e-12)
        assert at2x.resolution(z) * 2 == pytest.approx(web_mercator_quad().resolution(z))


def test_tiles_covering_a_bbox_match_morecantile() -> None:
    riga = (23.9, 56.85, 24.3, 57.05)
    ref = {(t.x, t.y) for t in REFERENCE.tiles(*riga, zooms=[12])}
    bbox = REFERENCE.xy_bounds(*min(ref), 12)
    # our function works in projected coordinates: use the union of the reference tiles' bounds
    boxes = [REFERENCE.xy_bounds(x, y, 12) for x, y in ref]
    union = (
        min(b.left for b in boxes),
        min(b.bottom for b in boxes),
        max(b.right for b in boxes),
        max(b.top for b in boxes),
    )
    ours = {(t.x, t.y) for t in web_mercator_quad().tiles(12, union)}
    assert ours == ref
    assert bbox.left == union[0]


def test_lks92_grid_is_consistent() -> None:
    grid = lks92_quad()
    assert grid.crs == "EPSG:3059"
    for z in range(grid.max_zoom + 1):
        m = grid.matrix(z)
        left, bottom, right, top = m.bounds
        assert left == 200_000
        assert top == 500_000
        assert right >= 850_000
        assert bottom <= 100_000
        assert m.cell_size == pytest.approx(4096 / 2**z)
    # adjacent tiles share edges exactly
    a = grid.tile_bounds(6, 3, 4)
    b = grid.tile_bounds(6, 4, 4)
    assert a[2] == b[0]


@pytest.mark.parametrize(
    ("z", "x", "y"),
    [
        ("9" * 5000, "0", "0"),
        ("3", "1" * 40, "0"),
        ("3", "0", "-1"),
        ("-0", "0", "x"),
        ("3", "0x10", "1"),
        ("3", "\uff11", "1"),  # full-width digit: isdigit() is true but it is not ASCII
        ("3", "", "1"),
        ("3", "1.5", "1"),
    ],
)
def test_hostile_indices_are_refused_before_arithmetic(z: str, x: str, y: str) -> None:
    with pytest.raises(InvalidTileRequest):
        web_mercator_quad().parse(z, x, y)


@pytest.mark.parametrize(("z", "x", "y"), [(25, 0, 0), (3, 8, 0), (3, 0, 8), (0, 1, 0)])
def test_out_of_range_is_a_typed_error_naming_the_range(z: int, x: int, y: int) -> None:
    with pytest.raises(TileOutOfRange, match="outside"):
        web_mercator_quad().validate(z, x, y)


def test_limits_are_enforced() -> None:
    base = web_mercator_quad(max_zoom=5)
    limited = TileMatrixSet(base.identifier, base.crs, base.matrices, {"5": TileMatrixLimits(10, 12, 17, 19)})
    assert limited.validate(5, 18, 11).x == 18
    with pytest.raises(TileOutOfRange, match="limits"):
        limited.validate(5, 16, 11)
    assert {(t.x, t.y) for t in limited.tiles(5, limited.matrix(5).bounds)} == {
        (c, r) for c in range(17, 20) for r in range(10, 13)
    }


def test_parse_accepts_plain_decimal_text() -> None:
    index = parse_tile_index("12", "2300", "+1200")
    assert (index.z, index.x, index.y) == (12, 2300, 1200)
    assert math.isfinite(web_mercator_quad().resolution(24))
