"""Reprojection accuracy against a real gdalwarp on the same source.

The source is a coordinate-encoding image: band 0 holds each pixel's column, band 1 its row, so a
bilinear/bicubic sample of it *is* the source position that was sampled (both kernels reproduce
linear functions exactly). Comparing our warp with gdalwarp's therefore measures the geometric
disagreement in source pixels directly.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from mapmap.reproject import plan_sources, warp
from mapmap.tms import lks92_quad, web_mercator_quad
from PIL import Image
from pyproj import Transformer

GDALWARP = shutil.which("gdalwarp")
if GDALWARP is None:  # `make test` installs gdal-bin; a missing reference must fail, not skip
    raise RuntimeError("gdalwarp is not installed (apt-get install gdal-bin)")

RIGA = (24.1052, 56.9496)


def _write_source(path: Path, band: np.ndarray, left: float, top: float, cell: float) -> None:
    Image.fromarray(band.astype(np.float32), "F").save(path)
    # world file: pixel sizes, rotations, then the *centre* of the top-left pixel
    path.with_suffix(".tfw").write_text(f"{cell}\n0\n0\n{-cell}\n{left + cell / 2}\n{top - cell / 2}\n")


def _gdalwarp(src: Path, dst: Path, bounds, size: int, method: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    subprocess.run(
        [GDALWARP, "-q", "-overwrite", "-s_srs", "EPSG:3059", "-t_srs", "EPSG:3857",
         "-te", *map(repr, bounds), "-ts", str(size), str(size), "-r", method, "-et", "0",
         "-ot", "Float32", "-dstnodata", "-9999", "-co", "COMPRESS=NONE", str(src), str(dst)],
        check=True, capture_output=True,
    )  # fmt: skip
    with Image.open(dst) as image:
        return np.asarray(image, dtype=np.float64)


@pytest.mark.parametrize(("z", "method", "gdal_method"), [(9, "bilinear", "bilinear"), (12, "bilinear", "bilinear"),
                                                          (12, "bicubic", "cubic")])  # fmt: skip
def test_warp_matches_gdalwarp_within_half_a_pixel(tmp_path: Path, z: int, method: str, gdal_method: str) -> None:
    src_tms, dst_tms = lks92_quad(), web_mercator_quad()
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(*RIGA)
    matrix = dst_tms.matrix(z)
    x = int((east - matrix.top_left[0]) // matrix.tile_span[0])
    y = int((matrix.top_left[1] - north) // matrix.tile_span[1])
    plan = plan_sources(src_tms, dst_tms, z, x, y)
    assert plan is not None
    height, width = len(plan.rows) * plan.tile_height, len(plan.cols) * plan.tile_width
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    bounds = dst_tms.tile_bounds(z, x, y)
    started = time.perf_counter()
    ours, valid = warp(
        np.stack([cols, rows], axis=-1), src_crs="EPSG:3059", src_left=plan.left, src_top=plan.top,
        src_cell_x=plan.cell_x, src_cell_y=plan.cell_y, dst_crs="EPSG:3857", dst_bounds=bounds,
        width=256, height=256, method=method,
    )  # fmt: skip
    elapsed_ms = (time.perf_counter() - started) * 1000
    errors = []
    for band_index, band in enumerate((cols, rows)):
        source = tmp_path / f"band{band_index}.tif"
        _write_source(source, band, plan.left, plan.top, plan.cell_x)
        reference = _gdalwarp(source, tmp_path / f"out{band_index}.tif", bounds, 256, gdal_method)
        both = valid & (reference != -9999)
        assert both.mean() > 0.95, "the comparison must cover (nearly) the whole tile"
        errors.append(np.abs(ours[..., band_index] - reference)[both].max())
    max_error = max(errors)
    print(f"z={z} {method}: max error {max_error:.4f} source px vs gdalwarp, warp {elapsed_ms:.1f} ms/tile")
    assert max_error <= 0.5
    # the matching resolution: the coarsest source level at least as fine as the output, so one
    # output pixel spans between one and two source pixels
    spread = np.abs(np.diff(ours[..., 0], axis=1))[valid[:, 1:] & valid[:, :-1]].mean()
    assert 1.0 <= spread < 2.0
