"""`Detections`: the validated value type every detector returns and every tracker consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from spoton.errors import InvalidDetectionsError

__all__ = ["PERSON_CLASS_ID", "Detections"]

PERSON_CLASS_ID = 0

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


def _as_boxes(value: Any, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidDetectionsError(f"{name} must have shape (N, 4); got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidDetectionsError(f"{name} must be finite; got NaN or inf")
    return arr


def _as_vector(value: Any, n: int, name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
    arr = np.asarray(value, dtype=dtype).reshape(-1) if np.ndim(value) else np.full(n, value, dtype=dtype)
    if arr.shape != (n,):
        raise InvalidDetectionsError(f"{name} must have shape ({n},) to match the boxes; got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class Detections:
    """N boxes in pixel xyxy (float32), their confidences in [0, 1] and class ids.

    Build with `from_xyxy`, `from_xywh` or `empty`; the constructor validates shapes and values.
    """

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray

    def __post_init__(self) -> None:
        xyxy = _as_boxes(self.xyxy, "xyxy")
        n = len(xyxy)
        conf = _as_vector(self.confidence, n, "confidence", np.float32)
        cls = _as_vector(self.class_id, n, "class_id", np.int32)
        if n and (xyxy[:, 2] < xyxy[:, 0]).any() | (xyxy[:, 3] < xyxy[:, 1]).any():
            bad = int(np.flatnonzero((xyxy[:, 2] < xyxy[:, 0]) | (xyxy[:, 3] < xyxy[:, 1]))[0])
            raise InvalidDetectionsError(f"box {bad} must satisfy x2 >= x1 and y2 >= y1; got {xyxy[bad].tolist()}")
        if n and (not np.isfinite(conf).all() or conf.min() < 0.0 or conf.max() > 1.0):
            raise InvalidDetectionsError(f"confidence must lie in [0, 1]; got range [{conf.min()}, {conf.max()}]")
        for name, arr in (("xyxy", xyxy), ("confidence", conf), ("class_id", cls)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))

    @classmethod
    def from_xyxy(
        cls,
        xyxy: npt.ArrayLike,
        confidence: npt.ArrayLike | float = 1.0,
        class_id: npt.ArrayLike | int = PERSON_CLASS_ID,
    ) -> Detections:
        boxes = _as_boxes(xyxy, "xyxy")
        return cls(boxes, confidence, class_id)  # type: ignore[arg-type]

    @classmethod
    def from_xywh(
        cls,
        xywh: npt.ArrayLike,
        confidence: npt.ArrayLike | float = 1.0,
        class_id: npt.ArrayLike | int = PERSON_CLASS_ID,
    ) -> Detections:
        """Boxes as top-left x, y, width, height (the MOT-challenge convention)."""
        boxes = _as_boxes(xywh, "xywh").copy()
        if len(boxes) and (boxes[:, 2:] < 0).any():
            raise InvalidDetectionsError("xywh widths and heights must be >= 0")
        boxes[:, 2:] += boxes[:, :2]
        return cls(boxes, confidence, class_id)  # type: ignore[arg-type]

    @classmethod
    def concatenate(cls, parts: Sequence[Detections]) -> Detections:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
        )

    # --- views --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: npt.ArrayLike | slice) -> Detections:
        idx = index if isinstance(index, slice) else np.asarray(index)
        return Detections(self.xyxy[idx].reshape(-1, 4), self.confidence[idx], self.class_id[idx])

    @property
    def xywh(self) -> FloatArray:
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    @property
    def area(self) -> FloatArray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    @property
    def bottom_centers(self) -> FloatArray:
        """Foot points (bottom-centre) in pixels: what a floor homography maps to metres."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    def with_min_confidence(self, threshold: float) -> Detections:
        return self[self.confidence >= threshold]

    def __repr__(self) -> str:
        return f"Detections(n={len(self)})"
