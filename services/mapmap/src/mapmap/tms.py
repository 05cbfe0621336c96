"""Tile matrix sets (OGC TMS / WMTS): grids, limits, tile bounds and resolutions.

Coordinates here are always (easting, northing) in the set's CRS, whatever the CRS's declared axis
order; capabilities parsing swaps northing-first corners on the way in. z/x/y coming from a request
are validated as text before any arithmetic, so a 10,000-digit "integer" never reaches int().
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mapmap.errors import InvalidTileRequest, NotFoundError, TileOutOfRange

__all__ = [
    "OGC_PIXEL_SIZE",
    "Bounds",
    "TileIndex",
    "TileMatrix",
    "TileMatrixLimits",
    "TileMatrixSet",
    "lks92_quad",
    "parse_tile_index",
    "web_mercator_quad",
    "zoom_for_resolution",
]

OGC_PIXEL_SIZE = 0.00028
"""Metres per pixel of the OGC "standardized rendering pixel" (WMTS 1.0, 6.1)."""

_MAX_INDEX_DIGITS = 10  # 2**31 has 10 digits: more can never be a valid row, column or zoom
_EARTH_RADIUS = 6378137.0
_MERCATOR_HALF = math.pi * _EARTH_RADIUS

Bounds = tuple[float, float, float, float]
"""(min_easting, min_northing, max_easting, max_northing)."""


@dataclass(frozen=True, slots=True)
class TileIndex:
    z: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class TileMatrixLimits:
    min_row: int
    max_row: int
    min_col: int
    max_col: int

    def __post_init__(self) -> None:
        if self.min_row > self.max_row or self.min_col > self.max_col or self.min_row < 0 or self.min_col < 0:
            raise ValueError(f"inconsistent TileMatrixLimits {self}")


@dataclass(frozen=True, slots=True)
class TileMatrix:
    """One zoom level. `top_left` is (easting, northing); `cell_size` is CRS units per pixel."""

    identifier: str
    scale_denominator: float
    top_left: tuple[float, float]
    tile_width: int
    tile_height: int
    matrix_width: int
    matrix_height: int
    meters_per_unit: float = 1.0

    def __post_init__(self) -> None:
        if self.scale_denominator <= 0 or not math.isfinite(self.scale_denominator):
            raise ValueError(f"tile matrix {self.identifier!r}: scale denominator must be positive")
        if min(self.tile_width, self.tile_height, self.matrix_width, self.matrix_height) < 1:
            raise ValueError(f"tile matrix {self.identifier!r}: sizes must be positive")

    @property
    def cell_size(self) -> float:
        return self.scale_denominator * OGC_PIXEL_SIZE / self.meters_per_unit

    @property
    def tile_span(self) -> tuple[float, float]:
        """Width and height of one tile in CRS units."""
        return self.tile_width * self.cell_size, self.tile_height * self.cell_size

    def tile_bounds(self, col: int, row: int) -> Bounds:
        span_x, span_y = self.tile_span
        left, top = self.top_left
        return (left + col * span_x, top - (row + 1) * span_y, left + (col + 1) * span_x, top - row * span_y)

    @property
    def bounds(self) -> Bounds:
        span_x, span_y = self.tile_span
        left, top = self.top_left
        return (left, top - self.matrix_height * span_y, left + self.matrix_width * span_x, top)

    def tiles_covering(self, bbox: Bounds, limits: TileMatrixLimits | None = None) -> tuple[range, range]:
        """Column and row ranges of the tiles that intersect `bbox` (clipped to the matrix and limits)."""
        span_x, span_y = self.tile_span
        left, top = self.top_left
        eps = 1e-9
        col0 = math.floor((bbox[0] - left) / span_x + eps)
        col1 = math.ceil((bbox[2] - left) / span_x - eps) - 1
        row0 = math.floor((top - bbox[3]) / span_y + eps)
        row1 = math.ceil((top - bbox[1]) / span_y - eps) - 1
        min_col, max_col, min_row, max_row = 0, self.matrix_width - 1, 0, self.matrix_height - 1
        if limits is not None:
            min_col, max_col = max(min_col, limits.min_col), min(max_col, limits.max_col)
            min_row, max_row = max(min_row, limits.min_row), min(max_row, limits.max_row)
        cols = range(max(col0, min_col), min(col1, max_col) + 1)
        rows = range(max(row0, min_row), min(row1, max_row) + 1)
        return cols, rows


@dataclass(frozen=True, eq=False)  # identity equality/hash: sets are built once and used as cache keys
class TileMatrixSet:
    """Ordered zoom levels (z = position in `matrices`) plus optional per-matrix limits."""

    identifier: str
    crs: str
    matrices: tuple[TileMatrix, ...]
    limits: Mapping[str, TileMatrixLimits] = field(default_factory=dict)
    well_known_scale_set: str | None = None

    def __post_init__(self) -> None:
        if not self.matrices:
            raise ValueError(f"tile matrix set {self.identifier!r} has no tile matrices")

    @property
    def max_zoom(self) -> int:
        return len(self.matrices) - 1

    def matrix(self, z: int) -> TileMatrix:
        if not 0 <= z <= self.max_zoom:
            raise TileOutOfRange(f"zoom {z} is outside {self.identifier} (0..{self.max_zoom})")
        return self.matrices[z]

    def matrix_by_id(self, identifier: str) -> tuple[int, TileMatrix]:
        for z, matrix in enumerate(self.matrices):
            if matrix.identifier == identifier:
                return z, matrix
        raise NotFoundError(f"tile matrix {identifier!r} is not in {self.identifier}")

    def limits_for(self, z: int) -> TileMatrixLimits | None:
        return self.limits.get(self.matrices[z].identifier)

    def validate(self, z: int, x: int, y: int) -> TileIndex:
        """Raise TileOutOfRange unless (z, x=column, y=row) is inside the matrix and its limits."""
        matrix = self.matrix(z)
        if not (0 <= x < matrix.matrix_width and 0 <= y < matrix.matrix_height):
            raise TileOutOfRange(
                f"tile {z}/{x}/{y} is outside {self.identifier} zoom {z} "
                f"(columns 0..{matrix.matrix_width - 1}, rows 0..{matrix.matrix_height - 1})"
            )
        limits = self.limits_for(z)
        if limits is not None and not (limits.min_col <= x <= limits.max_col and limits.min_row <= y <= limits.max_row):
            raise TileOutOfRange(
                f"tile {z}/{x}/{y} is outside the limits of {self.identifier} zoom {z} "
                f"(columns {limits.min_col}..{limits.max_col}, rows {limits.min_row}..{limits.max_row})"
            )
        return TileIndex(z, x, y)

    def parse(self, z: str | int, x: str | int, y: str | int) -> TileIndex:
        """Validate request text (or ints) as a tile of this set."""
        index = parse_tile_index(z, x, y)
        return self.validate(index.z, index.x, index.y)

    def tile_bounds(self, z: int, x: int, y: int) -> Bounds:
        return self.matrix(z).tile_bounds(x, y)

    def resolution(self, z: int) -> float:
        return self.matrix(z).cell_size

    def tiles(self, z: int, bbox: Bounds) -> Iterator[TileIndex]:
        cols, rows = self.matrix(z).tiles_covering(bbox, self.limits_for(z))
        for row in rows:
            for col in cols:
                yield TileIndex(z, col, row)


def _parse_component(name: str, value: str | int) -> int:
    if isinstance(value, bool):
        raise InvalidTileRequest(f"{name} must be an integer")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text or len(text) > _MAX_INDEX_DIGITS + 1:
            raise InvalidTileRequest(f"{name} must be an integer of at most {_MAX_INDEX_DIGITS} digits")
        digits = text[1:] if text[0] in "+-" else text
        if not digits.isascii() or not digits.isdigit():
            raise InvalidTileRequest(f"{name} must be an integer, got {text[:20]!r}")
        number = int(text)
    if number < 0:
        raise TileOutOfRange(f"{name} must not be negative")
    if number >= 2**31:
        raise TileOutOfRange(f"{name} is too large")
    return number


def parse_tile_index(z: str | int, x: str | int, y: str | int) -> TileIndex:
    """Turn request text into a TileIndex; refuses non-digits, signs, huge values before int()."""
    return TileIndex(_parse_component("z", z), _parse_component("x", x), _parse_component("y", y))


def web_mercator_quad(tile_size: int = 256, max_zoom: int = 24) -> TileMatrixSet:
    """OGC WebMercatorQuad (EPSG:3857); tile_size=512 keeps the same tiles at twice the pixels (@2x)."""
    if tile_size not in (256, 512):
        raise ValueError("WebMercatorQuad tiles are 256 or 512 pixels")
    matrices = []
    for z in range(max_zoom + 1):
        cell = 2 * _MERCATOR_HALF / tile_size / 2**z
        matrices.append(
            TileMatrix(
                identifier=str(z),
                scale_denominator=cell / OGC_PIXEL_SIZE,
                top_left=(-_MERCATOR_HALF, _MERCATOR_HALF),
                tile_width=tile_size,
                tile_height=tile_size,
                matrix_width=2**z,
                matrix_height=2**z,
            )
        )
    name = "WebMercatorQuad" if tile_size == 256 else "WebMercatorQuadx2"
    wkss = "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible" if tile_size == 256 else None
    return TileMatrixSet(name, "EPSG:3857", tuple(matrices), well_known_scale_set=wkss)


# LKS-92 / Latvia TM extent the demo grid covers (easting, northing), with room around the country.
LKS92_EXTENT: Bounds = (200_000.0, 100_000.0, 850_000.0, 500_000.0)


def lks92_quad(tile_size: int = 256, max_zoom: int = 14, top_cell: float = 4096.0) -> TileMatrixSet:
    """A national grid in EPSG:3059 (northing-first CRS): cell sizes halve from `top_cell` metres."""
    left, bottom, right, top = LKS92_EXTENT
    matrices = []
    for z in range(max_zoom + 1):
        cell = top_cell / 2**z
        span = cell * tile_size
        matrices.append(
            TileMatrix(
                identifier=str(z),
                scale_denominator=cell / OGC_PIXEL_SIZE,
                top_left=(left, top),
                tile_width=tile_size,
                tile_height=tile_size,
                matrix_width=math.ceil((right - left) / span),
                matrix_height=math.ceil((top - bottom) / span),
            )
        )
    return TileMatrixSet("LKS92", "EPSG:3059", tuple(matrices))


def zoom_for_resolution(tms: TileMatrixSet, resolution: float) -> int:
    """The coarsest zoom whose cell size is at most `resolution` (the finest one if none is)."""
    for z, matrix in enumerate(tms.matrices):
        if matrix.cell_size <= resolution * (1 + 1e-9):
            return z
    return tms.max_zoom
