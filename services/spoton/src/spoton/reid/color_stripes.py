"""Zero-weight appearance embedding: HSV colour histograms of horizontal body stripes.

Stripes keep the head/shirt/trousers layout apart, which plain whole-box histograms blur together.
Histograms are square-rooted (Hellinger) so cosine distance behaves like the Bhattacharyya one.
"""

from __future__ import annotations

import itertools
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from spoton.reid.inputs import frame_and_boxes

__all__ = ["AppearanceEmbedder", "ColorStripeEmbedder"]

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class AppearanceEmbedder(Protocol):
    name: str
    dim: int

    def embed(self, frame: npt.NDArray[np.uint8], xyxy: npt.ArrayLike) -> FloatArray: ...


class ColorStripeEmbedder:
    """`embed(frame, xyxy) -> (N, dim)` float32 rows of unit length (zeros for empty crops)."""

    name = "color_stripes"

    def __init__(
        self,
        *,
        stripes: int = 6,
        hue_bins: int = 12,
        sat_bins: int = 3,
        val_bins: int = 4,
        side_margin: float = 0.2,
    ) -> None:
        if stripes < 1 or hue_bins < 1 or sat_bins < 1 or val_bins < 1:
            raise ValueError("stripes and bin counts must be >= 1")
        if not 0 <= side_margin < 0.5:
            raise ValueError(f"side_margin must be in [0, 0.5); got {side_margin}")
        self.stripes = stripes
        self.hue_bins = hue_bins
        self.sat_bins = sat_bins
        self.val_bins = val_bins
        self.side_margin = side_margin
        self.dim = stripes * (hue_bins * sat_bins + val_bins)

    def embed(self, frame: npt.NDArray[np.uint8], xyxy: npt.ArrayLike) -> FloatArray:
        image, boxes = frame_and_boxes(frame, xyxy)
        out = np.zeros((len(boxes), self.dim), np.float32)
        if not len(boxes):
            return out
        h, w = image.shape[:2]
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            m = (x2 - x1) * self.side_margin
            xa, xb = int(np.clip(x1 + m, 0, w)), int(np.clip(x2 - m, 0, w))
            ya, yb = int(np.clip(y1, 0, h)), int(np.clip(y2, 0, h))
            if xb - xa < 2 or yb - ya < self.stripes:
                continue
            out[i] = self._describe(hsv[ya:yb, xa:xb])
        return out

    def _describe(self, crop: npt.NDArray[np.uint8]) -> FloatArray:
        edges = np.linspace(0, crop.shape[0], self.stripes + 1).astype(int)
        parts = []
        for a, b in itertools.pairwise(edges):
            band = np.ascontiguousarray(crop[a:b])
            hs = cv2.calcHist([band], [0, 1], None, [self.hue_bins, self.sat_bins], [0, 180, 0, 256]).ravel()
            v = cv2.calcHist([band], [2], None, [self.val_bins], [0, 256]).ravel()
            hist = np.r_[hs, v]
            parts.append(np.sqrt(hist / max(float(hist.sum()), 1.0)))
        vec = np.concatenate(parts).astype(np.float32)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)
