"""MOT-challenge text files: `frame, id, left, top, width, height, conf, x|class, y|visibility, z`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from spoton.errors import MOTFormatError

__all__ = ["MOTSequence", "parse_mot", "read_mot", "write_mot"]


@dataclass(frozen=True, eq=False)
class MOTSequence:
    """One camera's boxes over time: rows sorted by frame then id; boxes are top-left x, y, w, h."""

    frame: npt.NDArray[np.int64]
    track_id: npt.NDArray[np.int64]
    tlwh: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float64]
    class_id: npt.NDArray[np.int64]
    visibility: npt.NDArray[np.float64]

    @classmethod
    def from_arrays(
        cls,
        frame: npt.ArrayLike,
        track_id: npt.ArrayLike,
        tlwh: npt.ArrayLike,
        confidence: npt.ArrayLike | None = None,
        class_id: npt.ArrayLike | None = None,
        visibility: npt.ArrayLike | None = None,
    ) -> MOTSequence:
        f = np.asarray(frame, dtype=np.int64).reshape(-1)
        n = len(f)
        boxes = np.asarray(tlwh, dtype=np.float64).reshape(n, 4)
        ids = np.asarray(track_id, dtype=np.int64).reshape(n)
        conf = np.ones(n) if confidence is None else np.asarray(confidence, dtype=np.float64).reshape(n)
        cls_ = -np.ones(n, np.int64) if class_id is None else np.asarray(class_id, np.int64).reshape(n)
        vis = -np.ones(n) if visibility is None else np.asarray(visibility, dtype=np.float64).reshape(n)
        order = np.lexsort((ids, f))
        return cls(f[order], ids[order], boxes[order], conf[order], cls_[order], vis[order])

    @classmethod
    def empty(cls) -> MOTSequence:
        return cls.from_arrays(np.zeros(0), np.zeros(0), np.zeros((0, 4)))

    def __len__(self) -> int:
        return len(self.frame)

    def select(self, mask: npt.NDArray[np.bool_]) -> MOTSequence:
        return MOTSequence(
            self.frame[mask],
            self.track_id[mask],
            self.tlwh[mask],
            self.confidence[mask],
            self.class_id[mask],
            self.visibility[mask],
        )

    @property
    def frame_ids(self) -> npt.NDArray[np.int64]:
        return np.unique(self.frame)

    @property
    def unique_ids(self) -> npt.NDArray[np.int64]:
        return np.unique(self.track_id)

    def frames(self) -> Iterator[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """Yield (frame, ids, tlwh) per frame present, in order."""
        if not len(self):
            return
        starts = np.flatnonzero(np.r_[True, self.frame[1:] != self.frame[:-1]])
        ends = np.r_[starts[1:], len(self)]
        for s, e in zip(starts, ends, strict=True):
            yield int(self.frame[s]), self.track_id[s:e], self.tlwh[s:e]


def parse_mot(text: str, *, source: str = "<text>") -> MOTSequence:
    """Parse MOT-challenge CSV text; raise `MOTFormatError` naming the first bad line."""
    rows: list[list[float]] = []
    for lineno, raw in enumerate(io.StringIO(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in line.replace(" ", ",").replace("\t", ",").split(",") if p != ""]
        if len(parts) < 6:
            raise MOTFormatError(f"{source}:{lineno}: expected >= 6 comma-separated values; got {len(parts)}")
        try:
            values = [float(p) for p in parts[:10]]
        except ValueError as exc:
            raise MOTFormatError(f"{source}:{lineno}: non-numeric value ({exc})") from None
        if not all(np.isfinite(values)):
            raise MOTFormatError(f"{source}:{lineno}: values must be finite")
        if values[0] != int(values[0]) or values[1] != int(values[1]):
            raise MOTFormatError(f"{source}:{lineno}: frame and id must be integers")
        if values[4] < 0 or values[5] < 0:
            raise MOTFormatError(f"{source}:{lineno}: width and height must be >= 0")
        rows.append(values + [-1.0] * (10 - len(values)))
    if not rows:
        return MOTSequence.empty()
    a = np.asarray(rows, dtype=np.float64)
    return MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6], a[:, 6], a[:, 7], a[:, 8])


def read_mot(path: str | Path) -> MOTSequence:
    p = Path(path)
    return parse_mot(p.read_text(encoding="utf-8"), source=str(p))


def write_mot(path: str | Path, sequence: MOTSequence, *, ground_truth: bool = False) -> None:
    """Write tracker results (`conf, -1, -1, -1`) or ground truth (`1, class, visibility`)."""
    lines = []
    for i in range(len(sequence)):
        x, y, w, h = (f"{v:.2f}" for v in sequence.tlwh[i])
        head = f"{sequence.frame[i]},{sequence.track_id[i]},{x},{y},{w},{h}"
        if ground_truth:
            lines.append(f"{head},1,{sequence.class_id[i]},{sequence.visibility[i]:.3f}")
        else:
            lines.append(f"{head},{sequence.confidence[i]:.4f},-1,-1,-1")
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
