"""Floor heatmaps: person-moments per grid cell (each person counted once per moment)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from spoton.analytics.zones import Sample, merged_tracks
from spoton.errors import InvalidInputError

__all__ = ["Heatmap", "floor_heatmap"]


@dataclass(frozen=True)
class Heatmap:
    origin: tuple[float, float]  # floor metres of cell (0, 0)'s corner
    cell_m: float
    counts: npt.NDArray[np.int64]  # rows along y, columns along x

    def to_dict(self) -> dict[str, object]:
        return {"origin": list(self.origin), "cell_m": self.cell_m, "counts": self.counts.tolist()}

    def image(self, scale: int = 12) -> npt.NDArray[np.uint8]:
        """A BGR picture, y up (floor-plan view), cells `scale` pixels wide; empty cells dark."""
        c = self.counts.astype(np.float64)
        norm = np.zeros_like(c) if c.max() <= 0 else np.sqrt(c / c.max())
        colour = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
        colour[c == 0] = (30, 30, 30)
        big = cv2.resize(colour, (c.shape[1] * scale, c.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
        return np.ascontiguousarray(big[::-1])


def floor_heatmap(
    samples: Iterable[Sample],
    *,
    cell_m: float = 0.5,
    extent: tuple[float, float, float, float] | None = None,
    max_cells: int = 250_000,
) -> Heatmap:
    """`extent` = (x_min, x_max, y_min, y_max) metres; by default the samples' bounding box."""
    if cell_m <= 0:
        raise InvalidInputError("cell_m must be > 0")
    points = np.asarray([(x, y) for track in merged_tracks(samples).values() for _, x, y in track], np.float64)
    if extent is None:
        if len(points) == 0:
            return Heatmap((0.0, 0.0), cell_m, np.zeros((1, 1), np.int64))
        x0, y0 = np.floor(points.min(axis=0) / cell_m) * cell_m
        x1, y1 = points.max(axis=0)
    else:
        x0, x1, y0, y1 = extent
    cols = max(1, int(np.floor((x1 - x0) / cell_m)) + 1)
    rows = max(1, int(np.floor((y1 - y0) / cell_m)) + 1)
    if rows * cols > max_cells:
        raise InvalidInputError(f"a {rows}x{cols} grid is too large; use a larger cell_m")
    counts = np.zeros((rows, cols), np.int64)
    if len(points):
        ix = np.floor((points[:, 0] - x0) / cell_m).astype(np.int64)
        iy = np.floor((points[:, 1] - y0) / cell_m).astype(np.int64)
        ok = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
        np.add.at(counts, (iy[ok], ix[ok]), 1)
    return Heatmap((float(x0), float(y0)), cell_m, counts)
