"""Floor-plan analytics from per-person positions: zone enter/exit, visits, dwell, occupancy."""

from spoton.analytics.zones import (
    Sample,
    Visit,
    Zone,
    ZoneEvent,
    dwell_summary,
    events_from_visits,
    occupancy_series,
    points_in_polygon,
    zone_visits,
)

__all__ = [
    "Sample",
    "Visit",
    "Zone",
    "ZoneEvent",
    "dwell_summary",
    "events_from_visits",
    "occupancy_series",
    "points_in_polygon",
    "zone_visits",
]
