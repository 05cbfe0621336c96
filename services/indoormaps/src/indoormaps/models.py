"""Indoor map tables (EPSG:4326). Every feature row belongs to one DataVersion: an import writes a
whole new version beside the current one and flips `is_current`, so readers that captured a version
id keep a consistent snapshot across many short transactions (see streams.py)."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex

__all__ = [
    "Amenity",
    "BaseFloorFeature",
    "Building",
    "DataVersion",
    "Level",
    "NavEdge",
    "NavNode",
    "Opening",
    "Unit",
    "Venue",
]

WGS84 = 4326


class DataVersion(models.Model):
    """One imported dataset; `is_current` marks the version new readers start from."""

    source_name = models.TextField()
    source_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=False, db_default=False)
    counts = models.JSONField(default=dict, db_default={})
    import_seconds = models.FloatField(default=0.0, db_default=0.0)

    class Meta:
        db_table = "indoor_data_version"
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="indoor_one_current_version",
            )
        ]


class _Versioned(models.Model):
    version = models.ForeignKey(DataVersion, on_delete=models.CASCADE, db_index=False)
    imdf_id = models.UUIDField(null=True)

    class Meta:
        abstract = True


class Venue(_Versioned):
    name = models.TextField()
    names = models.JSONField(default=dict, db_default={})
    category = models.TextField()
    geom = models.GeometryField(srid=WGS84)

    class Meta:
        db_table = "indoor_venue"
        indexes = [models.Index(fields=["version", "id"], name="indoor_venue_version_id")]


class Building(_Versioned):
    name = models.TextField()
    names = models.JSONField(default=dict, db_default={})
    category = models.TextField()
    geom = models.GeometryField(srid=WGS84)
    display_point = models.PointField(srid=WGS84, null=True)

    class Meta:
        db_table = "indoor_building"
        indexes = [models.Index(fields=["version", "id"], name="indoor_building_version_id")]


class Level(_Versioned):
    """`ordinal` is normalised so 0 is the floor with the building entrance (IMDF semantics)."""

    building = models.ForeignKey(Building, on_delete=models.CASCADE, null=True)
    ordinal = models.IntegerField()
    source_ordinal = models.IntegerField()
    name = models.TextField()
    short_name = models.TextField()
    outdoor = models.BooleanField(default=False, db_default=False)
    geom = models.GeometryField(srid=WGS84)

    class Meta:
        db_table = "indoor_level"
        indexes = [
            models.Index(fields=["version", "id"], name="indoor_level_version_id"),
            models.Index(fields=["version", "ordinal"], name="indoor_level_version_ordinal"),
        ]


class Unit(_Versioned):
    """A room (or corridor, stairwell…): polygon, label point, display name and search text."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE)
    name = models.TextField(null=True)
    names = models.JSONField(default=dict, db_default={})
    search_name = models.TextField(default="", db_default="")
    category = models.TextField()
    restriction = models.TextField(null=True)
    geom = models.GeometryField(srid=WGS84)
    label_point = models.PointField(srid=WGS84)

    class Meta:
        db_table = "indoor_unit"
        indexes = [
            models.Index(fields=["version", "id"], name="indoor_unit_version_id"),
            GinIndex(fields=["search_name"], opclasses=["gin_trgm_ops"], name="indoor_unit_name_trgm"),
        ]


class Opening(_Versioned):
    """A door; `category` is cleaned (the campus types every indoor door `automobile`)."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE)
    category = models.TextField()
    unit_category = models.TextField(null=True)
    door = models.JSONField(null=True)
    accessible = models.BooleanField(null=True)
    geom = models.LineStringField(srid=WGS84)
    midpoint = models.PointField(srid=WGS84)

    class Meta:
        db_table = "indoor_opening"
        indexes = [models.Index(fields=["version", "id"], name="indoor_opening_version_id")]


class Amenity(_Versioned):
    """Points of interest; vertical connectors (stairs, elevator, escalator, ramp) among them."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE, null=True)
    unit = models.ForeignKey(Unit, on_delete=models.SET_NULL, null=True)
    category = models.TextField()
    name = models.TextField(null=True)
    names = models.JSONField(default=dict, db_default={})
    geom = models.PointField(srid=WGS84)

    class Meta:
        db_table = "indoor_amenity"
        indexes = [models.Index(fields=["version", "id"], name="indoor_amenity_version_id")]


class BaseFloorFeature(_Versioned):
    """Drawing of a floor: level outlines and detail lines (stair treads, furniture…)."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE)
    kind = models.TextField()
    category = models.TextField(null=True)
    geom = models.GeometryField(srid=WGS84)

    class Meta:
        db_table = "indoor_base_floor"
        indexes = [models.Index(fields=["version", "id"], name="indoor_base_floor_version_id")]


class NavNode(_Versioned):
    """A routing vertex; `level` is NULL outdoors. `kind`: path (from navPath), door, elevator."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE, null=True)
    building = models.ForeignKey(Building, on_delete=models.CASCADE, null=True)
    kind = models.TextField()
    weight = models.FloatField(default=1.0, db_default=1.0)
    tags = models.JSONField(default=list, db_default=[])
    opening = models.ForeignKey(Opening, on_delete=models.CASCADE, null=True)
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, null=True)
    geom = models.PointField(srid=WGS84)

    class Meta:
        db_table = "indoor_nav_node"
        indexes = [models.Index(fields=["version", "id"], name="indoor_nav_node_version_id")]


class NavEdge(models.Model):
    """An undirected-by-default routing edge (reverse_cost_s < 0 means one-way, pgRouting style).

    `length_m` is geodesic (geography) plus the climb for vertical edges; `cost_s` is walking time
    plus a tiny deterministic per-edge epsilon so that no two paths ever cost exactly the same.
    `level` is set only for edges inside one level (NULL outdoors and for vertical edges).
    """

    KINDS = ("walkway", "stairs", "elevator", "escalator", "ramp", "door")

    version = models.ForeignKey(DataVersion, on_delete=models.CASCADE, db_index=False)
    source = models.ForeignKey(NavNode, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(NavNode, on_delete=models.CASCADE, related_name="+")
    kind = models.TextField()
    level = models.ForeignKey(Level, on_delete=models.CASCADE, null=True, related_name="+")
    is_vertical = models.BooleanField(default=False, db_default=False)
    length_m = models.FloatField()
    time_s = models.FloatField()
    cost_s = models.FloatField()
    reverse_cost_s = models.FloatField()
    step_free = models.BooleanField()
    wheelchair = models.BooleanField()
    surface = models.TextField(default="paved", db_default="paved")
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    geom = models.LineStringField(srid=WGS84)

    class Meta:
        db_table = "indoor_nav_edge"
        indexes = [models.Index(fields=["version", "id"], name="indoor_nav_edge_version_id")]
