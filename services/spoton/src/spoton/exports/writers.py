"""Writers take plain row tuples (in EXPORT_COLUMNS order) so they run on a worker thread."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spoton.errors import InvalidInputError
from spoton.evaluation import MOTSequence
from spoton.evaluation.mot_format import write_mot

__all__ = ["EXPORT_COLUMNS", "EXPORT_FORMATS", "write_export"]

EXPORT_COLUMNS = (
    "camera", "frame", "ts", "track_id", "global_person_id", "x1", "y1", "x2", "y2", "confidence", "floor_x", "floor_y",
)  # fmt: skip
EXPORT_FORMATS = ("csv", "json", "mot", "xlsx")  # the tabular ones; pdf and mp4 have their own modules
SUFFIX = {"csv": ".csv", "json": ".json", "mot": ".zip", "xlsx": ".xlsx"}
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def write_export(fmt: str, rows: Sequence[Sequence[Any]], path: Path, *, meta: dict[str, Any]) -> Path:
    """Write `rows` as `fmt` to `path` (suffix added); return the file written."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(f"export format must be one of {', '.join(EXPORT_FORMATS)}; got {fmt!r}")
    target = path.with_suffix(SUFFIX[fmt])
    tmp = target.with_suffix(target.suffix + ".part")
    if fmt == "csv":
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows(rows)
    elif fmt == "json":
        records = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows]
        tmp.write_text(json.dumps({**meta, "columns": list(EXPORT_COLUMNS), "detections": records}), "utf-8")
    elif fmt == "xlsx":
        _write_xlsx(rows, tmp, meta)
    else:
        _write_mot_zip(rows, tmp)
    tmp.replace(target)  # readers never see a half-written file
    return target


def _write_mot_zip(rows: Sequence[Sequence[Any]], target: Path) -> None:
    per_camera: dict[str, list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        per_camera[str(row[0])].append(row)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for camera, cam_rows in sorted(per_camera.items()):
            a = np.asarray([(r[1], r[3], r[5], r[6], r[7] - r[5], r[8] - r[6], r[9]) for r in cam_rows], float)
            seq = MOTSequence.from_arrays(a[:, 0], a[:, 1], a[:, 2:6], a[:, 6])
            part = target.parent / f".{target.stem}-{_safe(camera)}.txt"
            write_mot(part, seq)
            archive.write(part, arcname=f"{_safe(camera)}.txt")
            part.unlink()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:100] or "camera"


def _write_xlsx(rows: Sequence[Sequence[Any]], target: Path, meta: dict[str, Any]) -> None:
    from openpyxl import Workbook

    if len(rows) > XLSX_MAX_ROWS:
        raise InvalidInputError(f"{len(rows)} rows do not fit one Excel sheet; export csv or json instead")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("detections")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append(list(row))
    info = book.create_sheet("export")
    for key, value in meta.items():
        info.append([key, str(value)])
    book.save(target)
