"""Reprojection of tiles between tile matrix sets: plan the covering source tiles at the matching
resolution, mosaic them, and warp per pixel with pyproj (bilinear or bicubic).

Pixels are areas (GDAL's convention): source pixel (row i, col j) has its centre at
(left + (j + 0.5) * cell, top - (i + 0.5) * cell). Every output pixel centre is transformed exactly
(no approximating mesh), so the geometric error is PROJ's, not ours.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image
from pyproj import Transformer

from mapmap.tms import Bounds, TileMatrixSet, zoom_for_resolution

__all__ = [
    "MAX_SOURCE_TILES",
    "Resampling",
    "SourcePlan",
    "decode_rgba",
    "encode_image",
    "matching_matrix",
    "mosaic",
    "plan_sources",
    "warp",
]

Resampling = Literal["bilinear", "bicubic"]
MAX_SOURCE_TILES = 36
_MARGIN_PIXELS = 2  # bicubic reads two source pixels beyond the footprint


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def matching_matrix(src: TileMatrixSet, dst: TileMatrixSet, z: int) -> str | None:
    """The source matrix identical in geometry to dst zoom `z` (then tiles pass through untouched)."""
    if src.crs != dst.crs:
        return None
    target = dst.matrix(z)
    for matrix in src.matrices:
        if (
            matrix.tile_width == target.tile_width
            and matrix.tile_height == target.tile_height
            and math.isclose(matrix.cell_size, target.cell_size, rel_tol=1e-9)
            and all(
                math.isclose(a, b, rel_tol=0, abs_tol=target.cell_size * 1e-6)
                for a, b in zip(matrix.top_left, target.top_left, strict=True)
            )
        ):
            return matrix.identifier
    return None


@dataclass(frozen=True)
class SourcePlan:
    """Which source tiles an output tile needs, and where their mosaic lies (source CRS)."""

    z: int
    cols: range
    rows: range
    left: float
    top: float
    cell_x: float
    cell_y: float
    tile_width: int
    tile_height: int

    @property
    def count(self) -> int:
        return len(self.cols) * len(self.rows)


@lru_cache(maxsize=64)
def _coverage(src: TileMatrixSet, dst_crs: str) -> Bounds:
    """The source grid's extent expressed in the destination CRS."""
    bounds = src.matrix(0).bounds
    if src.crs == dst_crs:
        return bounds
    return _transformer(src.crs, dst_crs).transform_bounds(*bounds, densify_pts=21)  # type: ignore[no-any-return]


def plan_sources(
    src: TileMatrixSet, dst: TileMatrixSet, z: int, x: int, y: int, *, max_zoom: int | None = None
) -> SourcePlan | None:
    """The source tiles covering output tile z/x/y at the finest needed resolution; None if none."""
    dst_matrix = dst.matrix(z)
    tile = dst_matrix.tile_bounds(x, y)
    cover = _coverage(src, dst.crs)
    clipped = (max(tile[0], cover[0]), max(tile[1], cover[1]), min(tile[2], cover[2]), min(tile[3], cover[3]))
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        return None
    same = src.crs == dst.crs
    sbox = clipped if same else _transformer(dst.crs, src.crs).transform_bounds(*clipped, densify_pts=21)
    if not all(math.isfinite(v) for v in sbox) or sbox[0] >= sbox[2] or sbox[1] >= sbox[3]:
        return None
    pixels_x = (clipped[2] - clipped[0]) / dst_matrix.cell_size
    pixels_y = (clipped[3] - clipped[1]) / dst_matrix.cell_size
    needed = min((sbox[2] - sbox[0]) / pixels_x, (sbox[3] - sbox[1]) / pixels_y)
    top_zoom = src.max_zoom if max_zoom is None else min(max_zoom, src.max_zoom)
    source_z = min(zoom_for_resolution(src, needed), top_zoom)
    while True:
        matrix = src.matrix(source_z)
        margin = _MARGIN_PIXELS * matrix.cell_size
        grown = (sbox[0] - margin, sbox[1] - margin, sbox[2] + margin, sbox[3] + margin)
        cols, rows = matrix.tiles_covering(grown, src.limits_for(source_z))
        if len(cols) * len(rows) <= MAX_SOURCE_TILES or source_z == 0:
            break
        source_z -= 1  # an odd grid: trade resolution for a bounded fetch
    if not cols or not rows:
        return None
    span_x, span_y = matrix.tile_span
    return SourcePlan(
        z=source_z,
        cols=cols,
        rows=rows,
        left=matrix.top_left[0] + cols.start * span_x,
        top=matrix.top_left[1] - rows.start * span_y,
        cell_x=matrix.cell_size,
        cell_y=matrix.cell_size,
        tile_width=matrix.tile_width,
        tile_height=matrix.tile_height,
    )


def decode_rgba(body: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(body)) as image:
        return np.asarray(image.convert("RGBA"))


def mosaic(plan: SourcePlan, tiles: Mapping[tuple[int, int], np.ndarray | None]) -> np.ndarray:
    """Paste decoded RGBA tiles ((col, row) → array) into one array; missing tiles stay transparent."""
    canvas = np.zeros((len(plan.rows) * plan.tile_height, len(plan.cols) * plan.tile_width, 4), dtype=np.uint8)
    for (col, row), tile in tiles.items():
        if tile is None:
            continue
        top = (row - plan.rows.start) * plan.tile_height
        left = (col - plan.cols.start) * plan.tile_width
        height, width = min(tile.shape[0], plan.tile_height), min(tile.shape[1], plan.tile_width)
        canvas[top : top + height, left : left + width] = tile[:height, :width]
    return canvas


def _cubic(t: np.ndarray) -> list[np.ndarray]:
    """Keys cubic convolution weights (a = -0.5, as GDAL's cubic) for taps at -1, 0, 1, 2."""
    a = -0.5

    def near(d: np.ndarray) -> np.ndarray:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1

    def far(d: np.ndarray) -> np.ndarray:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a

    return [far(1 + t), near(t), near(1 - t), far(2 - t)]


def warp(
    source: np.ndarray,
    *,
    src_crs: str,
    src_left: float,
    src_top: float,
    src_cell_x: float,
    src_cell_y: float,
    dst_crs: str,
    dst_bounds: Bounds,
    width: int,
    height: int,
    method: Resampling = "bilinear",
) -> tuple[np.ndarray, np.ndarray]:
    """Resample `source` (H, W[, C]) into the destination grid.

    Returns (values as float64 (height, width[, C]), valid mask): a pixel is valid when every tap
    it read lies inside the source array.
    """
    left, bottom, right, top = dst_bounds
    xs = left + (np.arange(width) + 0.5) * (right - left) / width
    ys = top - (np.arange(height) + 0.5) * (top - bottom) / height
    grid_x, grid_y = np.meshgrid(xs, ys)
    if src_crs != dst_crs:
        sx, sy = _transformer(dst_crs, src_crs).transform(grid_x, grid_y)
        sx, sy = np.asarray(sx), np.asarray(sy)
    else:
        sx, sy = grid_x, grid_y
    u = (sx - src_left) / src_cell_x - 0.5
    v = (src_top - sy) / src_cell_y - 0.5
    finite = np.isfinite(u) & np.isfinite(v)
    u = np.where(finite, u, -10.0)
    v = np.where(finite, v, -10.0)
    j0 = np.floor(u).astype(np.int64)
    i0 = np.floor(v).astype(np.int64)
    fu = u - j0
    fv = v - i0
    rows, cols = source.shape[0], source.shape[1]
    data = source.astype(np.float64)
    offsets: tuple[int, ...]
    if method == "bilinear":
        offsets = (0, 1)
        wu = [1 - fu, fu]
        wv = [1 - fv, fv]
    else:
        offsets = (-1, 0, 1, 2)
        wu = _cubic(fu)
        wv = _cubic(fv)
    valid = finite & (j0 + offsets[0] >= 0) & (i0 + offsets[0] >= 0)
    valid &= (j0 + offsets[-1] < cols) & (i0 + offsets[-1] < rows)
    out = np.zeros((height, width, *source.shape[2:]), dtype=np.float64)
    for a, di in enumerate(offsets):
        ii = np.clip(i0 + di, 0, rows - 1)
        for b, dj in enumerate(offsets):
            jj = np.clip(j0 + dj, 0, cols - 1)
            weight = wv[a] * wu[b]
            sample = data[ii, jj]
            out += sample * (weight[..., None] if source.ndim == 3 else weight)
    return out, valid


def warp_tile(
    mosaic_rgba: np.ndarray,
    plan: SourcePlan,
    *,
    src_crs: str,
    dst_crs: str,
    dst_bounds: Bounds,
    size: tuple[int, int],
    method: Resampling,
) -> np.ndarray:
    """RGBA uint8 output tile from a source mosaic (invalid pixels transparent)."""
    values, valid = warp(
        mosaic_rgba,
        src_crs=src_crs,
        src_left=plan.left,
        src_top=plan.top,
        src_cell_x=plan.cell_x,
        src_cell_y=plan.cell_y,
        dst_crs=dst_crs,
        dst_bounds=dst_bounds,
        width=size[0],
        height=size[1],
        method=method,
    )
    out: np.ndarray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    out[~valid] = 0
    return out


_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def encode_image(rgba: np.ndarray, kind: str) -> bytes:
    """Encode RGBA as 'png' | 'jpeg' | 'webp' (JPEG flattens transparency onto white)."""
    image = Image.fromarray(rgba, "RGBA")
    buffer = io.BytesIO()
    if kind == "jpeg":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        flat.save(buffer, format="JPEG", quality=88)
    elif kind == "webp":
        image.save(buffer, format="WEBP", quality=88)
    else:
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
