"""Layer mapping and drawing → IMDF dataset conversion (pure, no GDAL or database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from indoormaps.drawings import LayerMapping, LevelSpec, Role
from indoormaps.drawings.dataset import DrawnFeature, build_dataset
from indoormaps.errors import DrawingError


def test_default_mapping_classifies_common_cad_layers() -> None:
    mapping = LayerMapping.load()
    assert mapping.classify("ROOMS") == (Role.UNIT, "room")
    assert mapping.classify("a-flor-evtr-cab") == (Role.UNIT, "elevator")  # case-insensitive wildcard
    assert mapping.classify("A-DOOR") == (Role.OPENING, None)
    assert mapping.classify("WALLS") == (Role.BASE_FLOOR, None)
    assert mapping.classify("ROOM-NAMES") == (Role.LABEL, None)
    assert mapping.classify("NAV") == (Role.NAV_PATH, None)
    assert mapping.classify("DEFPOINTS") is None


def test_custom_mapping_file_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("units:\n  'R-*': office\nopenings: ['GATE']\n")
    mapping = LayerMapping.load(path)
    assert mapping.classify("r-12") == (Role.UNIT, "office")
    assert mapping.classify("ROOMS") is None
    assert mapping.fingerprint() != LayerMapping.load().fingerprint()
    path.write_text("rooms: ['X']\n")
    with pytest.raises(DrawingError, match=r"unknown sections \['rooms'\]"):
        LayerMapping.load(path)
    path.write_text("openings: GATE\n")
    with pytest.raises(DrawingError, match="'openings' must be a list"):
        LayerMapping.load(path)
    with pytest.raises(DrawingError, match="cannot read the layer mapping"):
        LayerMapping.load(tmp_path / "missing.yaml")


def _feature(layer: str, geometry: dict[str, object], index: int, **props: object) -> DrawnFeature:
    return DrawnFeature("plan.dxf", index, 0, {"properties": {"Layer": layer, **props}, "geometry": geometry})


def test_closed_polylines_become_named_rooms_and_walkways_a_graph() -> None:
    ring = [[30.0, 60.0], [30.001, 60.0], [30.001, 60.001], [30.0, 60.001], [30.0, 60.0]]
    features = [
        _feature("ROOMS", {"type": "LineString", "coordinates": ring}, 0),
        _feature("ROOMS", {"type": "LineString", "coordinates": ring[:3]}, 1),  # open: not a room
        _feature("ROOM-NAMES", {"type": "Point", "coordinates": [30.0005, 60.0005]}, 2, Text="Hall"),
        _feature("NAV", {"type": "LineString", "coordinates": [[30.0, 60.0], [30.0005, 60.0], [30.001, 60.0]]}, 3),
        _feature("NAV", {"type": "LineString", "coordinates": [[30.0005, 60.0], [30.0005, 60.001]]}, 4),
    ]
    dataset = build_dataset(features, mapping=LayerMapping.load(), levels=[LevelSpec(0)], source_name="plan",
                            content_sha256="0" * 64, building_name="B",
                            layer_of=lambda f: f.prop("Layer"))  # fmt: skip
    (unit,) = dataset.of("unit")
    assert unit.geometry == {"type": "Polygon", "coordinates": [ring]}
    assert unit.properties["name"] == {"en": "Hall"}
    assert dataset.skipped == {"units:not-closed": 1}
    nodes = {tuple(n.geometry["coordinates"]): n for n in dataset.of("nav_node")}  # type: ignore[index]
    assert len(nodes) == 4  # the shared vertex is merged
    assert len(nodes[(30.0005, 60.0)].properties["neighbours"]) == 3


def test_coordinates_that_are_not_lon_lat_name_the_fix() -> None:
    square = [[350000.0, 6650000.0], [350010.0, 6650000.0], [350010.0, 6650010.0], [350000.0, 6650000.0]]
    with pytest.raises(DrawingError, match="--source-crs"):
        build_dataset([_feature("ROOMS", {"type": "LineString", "coordinates": square}, 0)],
                      mapping=LayerMapping.load(), levels=[LevelSpec(0)], source_name="plan",
                      content_sha256="0" * 64, building_name="B", layer_of=lambda f: f.prop("Layer"))  # fmt: skip
