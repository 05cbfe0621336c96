"""Import of DXF (the original's source format) and GeoJSON drawings through GDAL.

Each file is read by ogr2ogr (reprojected to EPSG:4326), its layers are mapped to rooms, doors,
base floor, labels and walkways by a `LayerMapping`, and the result is loaded by the IMDF loader:
the same transaction, idempotence (content hash of files + mapping + levels + CRS), progress and
data version as `import imdf`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from indoormaps.drawings.dataset import DrawnFeature, LevelSpec, build_dataset
from indoormaps.drawings.mapping import DEFAULT_MAPPING_PATH, LayerMapping, Role
from indoormaps.drawings.ogr import read_with_ogr
from indoormaps.errors import DrawingError
from indoormaps.imdf.loader import STAGES as LOAD_STAGES
from indoormaps.imdf.loader import ImportReport, import_imdf

__all__ = [
    "DEFAULT_MAPPING_PATH",
    "FORMATS",
    "STAGES",
    "LayerMapping",
    "LevelSpec",
    "Role",
    "import_drawings",
]

FORMATS = ("dxf", "geojson")
STAGES = ("read", "map", *LOAD_STAGES)


def _levels_per_file(paths: Sequence[Path], levels: Sequence[int]) -> list[int]:
    if not levels:
        raise DrawingError("--level", "give the level ordinal the drawing shows, e.g. --level 0")
    if len(levels) == 1:
        return [levels[0]] * len(paths)
    if len(levels) != len(paths):
        raise DrawingError("--level", f"{len(levels)} levels for {len(paths)} files: give one, or one per file")
    return list(levels)


def import_drawings(
    kind: str,
    paths: Sequence[Path],
    *,
    levels: Sequence[int],
    level_names: Sequence[str] = (),
    mapping: LayerMapping | None = None,
    source_crs: str | None = None,
    building_name: str | None = None,
    layer_property: str = "layer",
    ogr_timeout_s: float = 120.0,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import drawings as one new data version (all files together: a version replaces the map)."""
    if kind not in FORMATS:
        raise DrawingError(kind, f"unknown drawing format; known: {list(FORMATS)}")
    if not paths:
        raise DrawingError(kind, "no files given")
    if kind == "dxf" and not source_crs:
        raise DrawingError("--source-crs", "DXF has no coordinate system: give it, e.g. --source-crs EPSG:32636")
    mapping = mapping or LayerMapping.load()
    per_file = _levels_per_file(paths, levels)
    ordinals = sorted(set(per_file))
    if level_names and len(level_names) != len(ordinals):
        raise DrawingError("--level-name", f"{len(level_names)} names for {len(ordinals)} levels {ordinals}")
    names = dict(zip(ordinals, level_names, strict=False))

    digest = hashlib.sha256()
    digest.update(f"{kind}\0{source_crs}\0{layer_property}\0{building_name}\0{mapping.fingerprint()}\0".encode())
    features: list[DrawnFeature] = []
    for path, level in zip(paths, per_file, strict=True):
        path = Path(path)
        if not path.is_file():
            raise DrawingError(str(path), "no such file")
        digest.update(f"{path.name}\0{level}\0{names.get(level)}\0".encode() + path.read_bytes() + b"\0")
        raw = read_with_ogr(path, source_crs=source_crs, timeout_s=ogr_timeout_s)
        features += [DrawnFeature(path.name, i, level, f) for i, f in enumerate(raw)]
    if progress is not None:
        progress("read")

    def layer_of(feature: DrawnFeature) -> str:
        if kind == "dxf":
            return str(feature.prop("Layer") or "0")
        value = feature.prop(layer_property)
        return value if isinstance(value, str) and value else Path(feature.file).stem

    source_name = f"{kind}:" + ",".join(Path(p).name for p in paths)
    dataset = build_dataset(
        features,
        mapping=mapping,
        levels=[LevelSpec(o, names.get(o)) for o in ordinals],
        source_name=source_name,
        content_sha256=digest.hexdigest(),
        building_name=building_name or Path(paths[0]).stem,
        layer_of=layer_of,
    )
    if progress is not None:
        progress("map")
    return import_imdf(dataset, force=force, progress=progress)
