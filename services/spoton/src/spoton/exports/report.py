"""The PDF task report (reportlab): summary, per-camera counts, zones, tripwires, heatmap, journeys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import cv2
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from spoton.analytics import (
    Sample,
    Sighting,
    Tripwire,
    Zone,
    dwell_summary,
    floor_heatmap,
    occupancy_series,
    person_journeys,
    tripwire_counts,
    tripwire_crossings,
    zone_visits,
)
from spoton.exports.writers import EXPORT_COLUMNS

__all__ = ["ReportInput", "write_report"]

MAX_JOURNEYS = 300
_COL = {name: i for i, name in enumerate(EXPORT_COLUMNS)}


@dataclass
class ReportInput:
    task: dict[str, Any]  # id, status, source, frames_done, created_at, finished_at, stats
    rows: Sequence[Sequence[Any]]  # EXPORT_COLUMNS order
    zones: list[Zone] = field(default_factory=list)
    tripwires: list[Tripwire] = field(default_factory=list)


def _table(header: list[str], body: list[list[Any]]) -> Table:
    table = Table([header, *body], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2d3e50")),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f3f6")]),
            ]
        )
    )
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_report(data: ReportInput, target: Path) -> Path:
    styles = getSampleStyleSheet()
    h1, h2, body = styles["Title"], styles["Heading2"], styles["BodyText"]
    story: list[Any] = [Paragraph("SpotOn task report", h1)]
    task, rows = data.task, data.rows
    stats = task.get("stats") or {}
    summary = [
        ["task", task["id"]], ["status", task["status"]], ["source", task["source"]],
        ["frames processed", task.get("frames_done")], ["cameras", ", ".join(stats.get("cameras", []))],
        ["global persons", stats.get("global_persons")], ["local tracks", stats.get("local_tracks")],
        ["FPS per camera", stats.get("fps_per_camera")], ["created", task.get("created_at")],
        ["finished", task.get("finished_at")], ["detections", len(rows)],
    ]  # fmt: skip
    story += [Paragraph("Summary", h2), _table(["field", "value"], [[k, _fmt(v)] for k, v in summary])]

    per_camera: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "tracks": set(), "persons": set()})
    for r in rows:
        entry = per_camera[str(r[_COL["camera"]])]
        entry["n"] += 1
        entry["tracks"].add(r[_COL["track_id"]])
        if r[_COL["global_person_id"]] is not None:
            entry["persons"].add(r[_COL["global_person_id"]])
    story += [
        Paragraph("Per camera", h2),
        _table(
            ["camera", "detections", "tracks", "global persons"],
            [[c, e["n"], len(e["tracks"]), len(e["persons"])] for c, e in sorted(per_camera.items())],
        ),
    ]

    pid, ts, fx, fy = _COL["global_person_id"], _COL["ts"], _COL["floor_x"], _COL["floor_y"]
    samples = [
        Sample(int(r[pid]), float(r[ts]), float(r[fx]), float(r[fy]))
        for r in rows
        if r[pid] is not None and r[fx] is not None
    ]
    visits = zone_visits(samples, data.zones) if data.zones else []
    if data.zones:
        dwell = dwell_summary(visits)
        peaks = {
            name: max((n for _, n in pts), default=0) for name, pts in occupancy_series(samples, data.zones).items()
        }
        zone_rows = []
        for zone in data.zones:
            d = dwell.get(zone.name, {})
            zone_rows.append(
                [zone.name, d.get("visits", 0), d.get("open_visits", 0), _fmt(d.get("mean_s")), _fmt(d.get("median_s")),
                 _fmt(d.get("max_s")), peaks.get(zone.name, 0)]
            )  # fmt: skip
        story += [
            Paragraph("Zones: occupancy and dwell", h2),
            _table(["zone", "visits", "open", "mean dwell s", "median s", "max s", "peak people"], zone_rows),
        ]
    if data.tripwires:
        counts = tripwire_counts(tripwire_crossings(samples, data.tripwires), data.tripwires)
        story += [
            Paragraph("Tripwires", h2),
            _table(
                ["tripwire", "forward", "backward", "persons"],
                [[n, c["forward"], c["backward"], c["persons"]] for n, c in counts.items()],
            ),
        ]
    if samples:
        heat = floor_heatmap(samples, cell_m=0.5)
        picture = target.with_name(target.stem + "-heatmap.png")
        cv2.imwrite(str(picture), heat.image(scale=12))
        rows_px, cols_px = heat.counts.shape[0] * 12, heat.counts.shape[1] * 12
        width = min(170 * mm, cols_px * 0.75)
        story += [
            Paragraph("Floor heatmap", h2),
            Paragraph(
                f"Person-moments per {heat.cell_m} m cell; origin ({heat.origin[0]:.1f}, {heat.origin[1]:.1f}) m, "
                "x to the right, y up.",
                body,
            ),
            Image(str(picture), width=width, height=width * rows_px / cols_px),
        ]
    sightings = [
        Sighting(int(r[_COL["global_person_id"]]), str(r[_COL["camera"]]), float(r[_COL["ts"]]))
        for r in rows
        if r[_COL["global_person_id"]] is not None
    ]
    journeys = person_journeys(sightings, visits)
    story.append(Paragraph("Journeys of global persons", h2))
    for journey in list(journeys.values())[:MAX_JOURNEYS]:
        steps = " &rarr; ".join(
            f"{escape(v.camera)} ({v.start_ts:.1f}&ndash;{v.end_ts:.1f} s)" for v in journey.cameras
        )
        zones = ", ".join(f"{escape(v.zone)} from {v.enter_ts:.1f} s" for v in journey.zones)
        text = f"<b>Person {journey.person}</b>: {steps}" + (f"; zones: {zones}" if zones else "")
        story += [Paragraph(text, body), Spacer(1, 1 * mm)]
    if len(journeys) > MAX_JOURNEYS:
        story.append(Paragraph(f"... and {len(journeys) - MAX_JOURNEYS} more (see the JSON export).", body))
    document = SimpleDocTemplate(str(target), pagesize=A4, title=f"SpotOn task {task['id']}", author="SpotOn")
    try:
        document.build(story)
    finally:
        if samples:
            target.with_name(target.stem + "-heatmap.png").unlink(missing_ok=True)
    return target
