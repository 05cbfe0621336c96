"""The feature layers every read serves, as data: which table, which properties, which filters.

SQL fragments here are trusted constants; request values only ever reach SQL as bound parameters.
The feature JSON is built by PostgreSQL (json_build_object + ST_AsGeoJSON), identically for page
and stream modes.
"""

from __future__ import annotations

from dataclasses import dataclass

from indoormaps.errors import NotFound

__all__ = ["LAYERS", "Layer", "get_layer"]


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    from_sql: str  # must alias the feature table as `f`
    feature_id_sql: str
    geometry_sql: str
    properties: tuple[tuple[str, str], ...]
    level_sql: str | None = None
    category_sql: str | None = None
    search_sql: str | None = None

    def feature_json_sql(self) -> str:
        props = ", ".join(f"'{key}', {expr}" for key, expr in self.properties)
        return (
            f"json_build_object('type', 'Feature', 'id', {self.feature_id_sql}, "
            f"'geometry', ST_AsGeoJSON({self.geometry_sql}, 7)::json, "
            f"'properties', json_build_object({props}))::text"
        )


_LEVEL_JOIN = " JOIN indoor_level l ON l.id = f.level_id"
_LEVEL_PROPS = (("level", "l.ordinal"), ("level_name", "l.name"), ("level_short_name", "l.short_name"))

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            name="rooms",
            title="Rooms and other units",
            from_sql="indoor_unit f" + _LEVEL_JOIN,
            feature_id_sql="f.imdf_id",
            geometry_sql="f.geom",
            properties=(
                ("name", "f.name"),
                ("names", "f.names"),
                ("category", "f.category"),
                ("restriction", "f.restriction"),
                ("label_point", "ST_AsGeoJSON(f.label_point, 7)::json -> 'coordinates'"),
                *_LEVEL_PROPS,
            ),
            level_sql="l.ordinal",
            category_sql="f.category",
            search_sql="f.search_name",
        ),
        Layer(
            name="base-floor",
            title="Floor outlines and drawing details",
            from_sql="indoor_base_floor f" + _LEVEL_JOIN,
            feature_id_sql="f.id",
            geometry_sql="f.geom",
            properties=(("kind", "f.kind"), ("category", "f.category"), *_LEVEL_PROPS),
            level_sql="l.ordinal",
            category_sql="f.kind",
        ),
        Layer(
            name="openings",
            title="Doors",
            from_sql="indoor_opening f" + _LEVEL_JOIN,
            feature_id_sql="f.imdf_id",
            geometry_sql="f.geom",
            properties=(("category", "f.category"), ("accessible", "f.accessible"), *_LEVEL_PROPS),
            level_sql="l.ordinal",
            category_sql="f.category",
        ),
        Layer(
            name="amenities",
            title="Amenities: stairs, elevators, escalators, ramps and more",
            from_sql="indoor_amenity f LEFT JOIN indoor_level l ON l.id = f.level_id",
            feature_id_sql="f.imdf_id",
            geometry_sql="f.geom",
            properties=(("name", "f.name"), ("category", "f.category"), *_LEVEL_PROPS),
            level_sql="l.ordinal",
            category_sql="f.category",
        ),
        Layer(
            name="levels",
            title="Levels",
            from_sql="indoor_level f LEFT JOIN indoor_building b ON b.id = f.building_id",
            feature_id_sql="f.imdf_id",
            geometry_sql="f.geom",
            properties=(
                ("ordinal", "f.ordinal"),
                ("name", "f.name"),
                ("short_name", "f.short_name"),
                ("building", "b.name"),
            ),
            level_sql="f.ordinal",
        ),
        Layer(
            name="nav-edges",
            title="Navigation network",
            from_sql="indoor_nav_edge f LEFT JOIN indoor_level l ON l.id = f.level_id",
            feature_id_sql="f.id",
            geometry_sql="f.geom",
            properties=(
                ("kind", "f.kind"),
                ("length_m", "round(f.length_m::numeric, 2)"),
                ("step_free", "f.step_free"),
                ("wheelchair", "f.wheelchair"),
                ("level", "l.ordinal"),
            ),
            level_sql="l.ordinal",
            category_sql="f.kind",
        ),
    )
}


def get_layer(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(f"no layer {name!r}; layers: {sorted(LAYERS)}") from None
