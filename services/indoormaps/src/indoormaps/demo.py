"""The demo dataset shipped in the package, and `ensure_demo_data` (migrate + import it once)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DemoOutcome", "campus_path", "ensure_demo_data"]


def campus_path() -> Path:
    """The SPbPU campus IMDF folder inside the installed package."""
    return Path(str(resources.files("indoormaps") / "data" / "spbpu-imdf"))


@dataclass(frozen=True)
class DemoOutcome:
    imported: bool
    version_id: int
    source: str
    seconds: float = 0.0


def ensure_demo_data() -> DemoOutcome:
    """Migrate, then import the campus unless some data version is already current.

    Idempotent: the fleet runner calls it on every `make up`; existing data (the campus or anything
    imported by hand) is never replaced. Django must already be configured.
    """
    from django.core.management import call_command
    from django.db import connection

    from indoormaps.imdf.loader import import_imdf

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SELECT id, source_name FROM indoor_data_version WHERE is_current")
        row = cur.fetchone()
    if row is not None:
        return DemoOutcome(False, int(row[0]), str(row[1]))
    report = import_imdf(campus_path())
    return DemoOutcome(True, report.version_id, "spbpu-imdf", report.seconds)
