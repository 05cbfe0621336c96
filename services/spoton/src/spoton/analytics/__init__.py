"""Floor-plan analytics from per-person positions: zones, tripwires, journeys, speeds, heatmaps."""

from spoton.analytics.heatmap import Heatmap, floor_heatmap
from spoton.analytics.journeys import (
    CameraVisit,
    Journey,
    Sighting,
    TransitionMatrix,
    person_journeys,
    zone_transitions,
)
from spoton.analytics.motion import SpeedSummary, person_speeds
from spoton.analytics.tripwires import Crossing, Tripwire, tripwire_counts, tripwire_crossings
from spoton.analytics.zones import (
    Sample,
    Visit,
    Zone,
    ZoneEvent,
    dwell_summary,
    events_from_visits,
    merged_tracks,
    occupancy_series,
    points_in_polygon,
    zone_visits,
)

__all__ = [
    "CameraVisit",
    "Crossing",
    "Heatmap",
    "Journey",
    "Sample",
    "Sighting",
    "SpeedSummary",
    "TransitionMatrix",
    "Tripwire",
    "Visit",
    "Zone",
    "ZoneEvent",
    "dwell_summary",
    "events_from_visits",
    "floor_heatmap",
    "merged_tracks",
    "occupancy_series",
    "person_journeys",
    "person_speeds",
    "points_in_polygon",
    "tripwire_counts",
    "tripwire_crossings",
    "zone_transitions",
    "zone_visits",
]
