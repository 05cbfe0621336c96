"""Quirk cleaning for IMDF exports, kept as small pure functions so each rule is testable.

Rules (all seen in the SPbPU campus export):
- `builing_id` (typo) is read as `building_id`; `unit_categoty` as `unit_category`.
- Indoor openings typed `automobile` are pedestrian doors.
- Localised names are dicts; the display name prefers the manifest language.
- Level ordinals are renumbered per building so that 0 is the floor with the entrance, as IMDF
  defines it (one building numbers its ground floor 1, the other 0).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from indoormaps.errors import ImdfError

__all__ = [
    "as_uuid",
    "building_id",
    "localized",
    "opening_category",
    "ordinal_offsets",
    "search_text",
]

_PEDESTRIAN = "pedestrian"


def as_uuid(value: Any, source: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError) as exc:
        raise ImdfError(source, f"{what} {value!r} is not a UUID") from exc


def building_id(properties: Mapping[str, Any]) -> str | None:
    value = properties.get("building_id", properties.get("builing_id"))
    return value if isinstance(value, str) and value else None


def localized(value: Any, language: str) -> tuple[str | None, dict[str, str]]:
    """(display name, all variants) from an IMDF label (dict of language → text) or a plain string."""
    if value is None:
        return None, {}
    if isinstance(value, str):
        text = value.strip()
        return (text or None), ({language: text} if text else {})
    if isinstance(value, dict):
        names = {str(k): str(v).strip() for k, v in value.items() if isinstance(v, str) and v.strip()}
        if not names:
            return None, {}
        return names.get(language) or names.get("en") or next(iter(names.values())), names
    return None, {}


def search_text(variants: Iterable[Mapping[str, str]]) -> str:
    """All name variants, deduplicated in order, joined for one trigram-indexed column."""
    seen: dict[str, None] = {}
    for names in variants:
        for text in names.values():
            seen.setdefault(text, None)
    return " | ".join(seen)


def opening_category(raw: Any, level_outdoor: bool) -> str:
    category = raw if isinstance(raw, str) and raw else _PEDESTRIAN
    if category == "automobile" and not level_outdoor:
        return _PEDESTRIAN
    return category


def ordinal_offsets(
    levels: Iterable[tuple[str, str | None, int]], entrance_level_ids: set[str]
) -> dict[str | None, int]:
    """Per building: the offset that moves its lowest entrance level to ordinal 0.

    `levels` holds (level id, building id, source ordinal). A building without a known entrance
    keeps its ordinals (offset 0).
    """
    lowest: dict[str | None, int] = {}
    for level_id, building, ordinal in levels:
        if level_id in entrance_level_ids:
            lowest[building] = min(ordinal, lowest.get(building, ordinal))
    return {building: -ordinal for building, ordinal in lowest.items()}
