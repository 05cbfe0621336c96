"""GDAL adapter: read a DXF or GeoJSON file with `ogr2ogr`, reprojected to EPSG:4326, as features.

Runs ogr2ogr in a subprocess with a timeout (no GDAL Python bindings needed); 3D is flattened
(`-dim XY`), and every failure becomes a DrawingError naming the file and GDAL's own message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from indoormaps.errors import DrawingError

__all__ = ["read_with_ogr"]


def _gdal_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("ERROR", "FAILURE"))]
    return (errors or lines or ["ogr2ogr failed without a message"])[0]


def read_with_ogr(
    path: Path,
    *,
    source_crs: str | None,
    timeout_s: float,
    ogr2ogr: str = "ogr2ogr",
) -> list[dict[str, Any]]:
    """All features of `path` (one GDAL layer per file for DXF and GeoJSON) in lon/lat."""
    executable = shutil.which(ogr2ogr)
    if executable is None:
        raise DrawingError(str(path), f"{ogr2ogr} not found: install GDAL (Debian: gdal-bin)")
    with tempfile.TemporaryDirectory(prefix="indoormaps-ogr-") as scratch:
        target = Path(scratch) / "out.geojson"
        command = [executable, "-f", "GeoJSON", "-dim", "XY", "-t_srs", "EPSG:4326"]
        if source_crs:
            command += ["-s_srs", source_crs]
        command += [str(target), str(path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            raise DrawingError(str(path), f"ogr2ogr did not finish within {timeout_s:g} s") from exc
        if done.returncode != 0 or not target.is_file():
            raise DrawingError(str(path), f"GDAL cannot read it: {_gdal_message(done.stderr)}")
        try:
            document = json.loads(target.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DrawingError(str(path), f"ogr2ogr wrote unreadable GeoJSON ({exc})") from exc
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise DrawingError(str(path), "GDAL found no features")
    return [f for f in features if isinstance(f, dict)]
