"""Layer mapping: which drawing layer feeds units, openings, base floor, labels or the nav graph.

The shipped default is `indoormaps/data/layer-mapping.yaml` (documented there); `--mapping FILE`
replaces it. Layer names match case-insensitively with shell wildcards; first section wins.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from indoormaps.errors import DrawingError

__all__ = ["DEFAULT_MAPPING_PATH", "LayerMapping", "Role"]

DEFAULT_MAPPING_PATH = Path(str(resources.files("indoormaps") / "data" / "layer-mapping.yaml"))


class Role(StrEnum):
    UNIT = "units"
    OPENING = "openings"
    BASE_FLOOR = "base_floor"
    LABEL = "labels"
    NAV_PATH = "nav_paths"


_LIST_SECTIONS = (Role.OPENING, Role.BASE_FLOOR, Role.LABEL, Role.NAV_PATH)


@dataclass(frozen=True)
class LayerMapping:
    units: tuple[tuple[str, str], ...]  # (pattern, unit category)
    patterns: dict[Role, tuple[str, ...]]
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> LayerMapping:
        path = path or DEFAULT_MAPPING_PATH
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise DrawingError(str(path), f"cannot read the layer mapping ({exc})") from exc
        return cls.from_dict(document, source=str(path))

    @classmethod
    def from_dict(cls, document: Any, *, source: str = "mapping") -> LayerMapping:
        if not isinstance(document, dict):
            raise DrawingError(source, "the layer mapping must be a mapping of sections")
        unknown = set(document) - {role.value for role in Role}
        if unknown:
            raise DrawingError(source, f"unknown sections {sorted(unknown)}; known: {[r.value for r in Role]}")
        units = document.get(Role.UNIT.value) or {}
        if not isinstance(units, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in units.items()
        ):
            raise DrawingError(source, "'units' must map layer patterns to unit categories (strings)")
        patterns: dict[Role, tuple[str, ...]] = {}
        for role in _LIST_SECTIONS:
            value = document.get(role.value) or []
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise DrawingError(source, f"'{role.value}' must be a list of layer name patterns")
            patterns[role] = tuple(value)
        if not units and not any(patterns.values()):
            raise DrawingError(source, "the layer mapping maps no layer at all")
        return cls(tuple(units.items()), patterns, source)

    def classify(self, layer: str) -> tuple[Role, str | None] | None:
        """(role, unit category for units) of a layer name, or None when no section maps it."""
        name = layer.casefold()
        for pattern, category in self.units:
            if fnmatch.fnmatchcase(name, pattern.casefold()):
                return Role.UNIT, category
        for role in _LIST_SECTIONS:
            if any(fnmatch.fnmatchcase(name, pattern.casefold()) for pattern in self.patterns[role]):
                return role, None
        return None

    def fingerprint(self) -> str:
        """Canonical text of the mapping, part of an import's content hash (idempotence)."""
        return json.dumps(
            {"units": list(self.units), **{role.value: list(p) for role, p in self.patterns.items()}},
            sort_keys=True,
        )
