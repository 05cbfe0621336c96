"""Read an IMDF archive (folder or .zip) into features grouped by canonical type.

Feature types are taken from each feature's `feature_type` and normalised, because exporters
in the wild use non-standard names (the SPbPU campus: `navPath`, `navPathAssocieted`,
`enviroment_unit`). Types we do not use are counted in `skipped`, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from indoormaps.errors import ImdfError

__all__ = ["REQUIRED_TYPES", "Feature", "ImdfDataset", "read_imdf"]

# Non-standard or misspelled feature types → the canonical name used by the loader.
_TYPE_ALIASES = {
    "navpath": "nav_node",
    "navpathassocieted": "nav_association",
    "navpathassociated": "nav_association",
    "enviroment_unit": "environment_unit",
    "enviroment_amenity": "environment_amenity",
}
USED_TYPES = frozenset(
    {"venue", "building", "footprint", "level", "unit", "opening", "amenity", "occupant", "anchor", "detail",
     "nav_node", "nav_association"}
)  # fmt: skip
REQUIRED_TYPES = ("venue", "level", "unit")


@dataclass(frozen=True)
class Feature:
    id: str
    geometry: dict[str, Any] | None
    properties: dict[str, Any]
    source: str  # "file.geojson#id", for error messages


@dataclass
class ImdfDataset:
    source_name: str
    sha256: str
    language: str
    features: dict[str, list[Feature]]
    skipped: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str) -> list[Feature]:
        return self.features.get(kind, [])


def _canonical(feature_type: str) -> str:
    lowered = feature_type.strip().lower()
    return _TYPE_ALIASES.get(lowered, lowered)


def _members(path: Path) -> list[tuple[str, bytes]]:
    if path.is_dir():
        return sorted((p.name, p.read_bytes()) for p in path.iterdir() if p.suffix in {".geojson", ".json"})
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            out = []
            for info in archive.infolist():
                name = PurePosixPath(info.filename).name
                if not info.is_dir() and name.endswith((".geojson", ".json")) and not name.startswith("."):
                    out.append((name, archive.read(info)))
            return sorted(out)
    if path.exists():
        raise ImdfError(str(path), "not a folder or a zip archive")
    raise ImdfError(str(path), "no such file or folder")


def _parse(name: str, raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImdfError(name, f"not valid JSON ({exc})") from exc


def read_imdf(path: Path) -> ImdfDataset:
    """Parse every GeoJSON member; raise ImdfError naming the file on the first malformed one."""
    members = _members(Path(path))
    digest = hashlib.sha256()
    features: dict[str, list[Feature]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    language = "en"
    for name, raw in members:
        digest.update(name.encode() + b"\0" + raw + b"\0")
        document = _parse(name, raw)
        if name == "manifest.json":
            if isinstance(document, dict) and isinstance(document.get("language"), str):
                language = document["language"].split("-")[0]
            continue
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise ImdfError(name, "expected a GeoJSON FeatureCollection")
        items = document.get("features")
        if not isinstance(items, list):
            raise ImdfError(name, "'features' must be a list")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ImdfError(f"{name}[{index}]", "feature is not an object")
            feature_id = item.get("id")
            kind = item.get("feature_type") or PurePosixPath(name).stem
            if not isinstance(feature_id, str) or not feature_id:
                raise ImdfError(f"{name}[{index}]", "feature has no string id")
            if not isinstance(kind, str):
                raise ImdfError(f"{name}#{feature_id}", "feature_type is not a string")
            canonical = _canonical(kind)
            if canonical not in USED_TYPES:
                skipped[canonical] += 1
                continue
            geometry = item.get("geometry")
            properties = item.get("properties") or {}
            if geometry is not None and not isinstance(geometry, dict):
                raise ImdfError(f"{name}#{feature_id}", "geometry is not an object")
            if not isinstance(properties, dict):
                raise ImdfError(f"{name}#{feature_id}", "properties is not an object")
            features[canonical].append(Feature(feature_id, geometry, properties, f"{name}#{feature_id}"))
    for required in REQUIRED_TYPES:
        if not features.get(required):
            raise ImdfError(str(path), f"no '{required}' features found")
    return ImdfDataset(
        source_name=Path(path).name,
        sha256=digest.hexdigest(),
        language=language,
        features=dict(features),
        skipped=dict(skipped),
    )
