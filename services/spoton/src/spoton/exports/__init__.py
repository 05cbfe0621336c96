"""Export files for one task: CSV, JSON, XLSX, MOT-challenge zip, a PDF report and an annotated MP4."""

from spoton.exports.frames import TaskFrames
from spoton.exports.manager import ExportManager
from spoton.exports.report import ReportInput, write_report
from spoton.exports.video import write_annotated_video
from spoton.exports.writers import EXPORT_COLUMNS, EXPORT_FORMATS, write_export

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "ExportManager",
    "ReportInput",
    "TaskFrames",
    "write_annotated_video",
    "write_export",
    "write_report",
]
