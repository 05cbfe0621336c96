"""Export files for one task's tracking data: CSV, JSON, MOT-challenge (a zip, one file per camera)."""

from spoton.exports.manager import ExportManager
from spoton.exports.writers import EXPORT_COLUMNS, EXPORT_FORMATS, write_export

__all__ = ["EXPORT_COLUMNS", "EXPORT_FORMATS", "ExportManager", "write_export"]
