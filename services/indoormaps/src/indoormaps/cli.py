"""`indoormaps` console script: `migrate` and `import imdf PATH|ZIP` (serve/check come with servicekit)."""

from __future__ import annotations

from pathlib import Path

import click

from indoormaps.django_settings import build_django_settings, configure_django
from indoormaps.errors import IndoorMapsError

__all__ = ["main"]

_DB_OPTION = click.option(
    "--database-url",
    envvar="DATABASE_URL",
    required=True,
    help="postgresql://user:password@host:port/dbname (or env DATABASE_URL)",
)


def _setup(database_url: str) -> None:
    try:
        configure_django(build_django_settings(database_url))
    except IndoorMapsError as exc:
        raise click.UsageError(exc.message) from exc


@click.group()
def main() -> None:
    """Indoor maps: IMDF import, feature streams and multi-floor routing on PostGIS."""


@main.command()
@_DB_OPTION
def migrate(database_url: str) -> None:
    """Create or update the schema (PostGIS, pg_trgm and pgRouting extensions included)."""
    _setup(database_url)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@main.group(name="import")
def import_group() -> None:
    """Import map data as a new data version."""


@import_group.command(name="imdf")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@_DB_OPTION
@click.option("--force", is_flag=True, help="Import even if the same data is already current.")
def import_imdf_command(path: Path, database_url: str, force: bool) -> None:
    """Import an IMDF folder or .zip (quirks cleaned, nav graph built) in one transaction."""
    _setup(database_url)
    from indoormaps.imdf.loader import STAGES, import_imdf

    try:
        with click.progressbar(length=len(STAGES), label="importing", show_pos=True) as bar:

            def advance(stage: str) -> None:
                bar.label = f"importing: {stage}"
                bar.update(1)

            report = import_imdf(path, force=force, progress=advance)
    except IndoorMapsError as exc:
        raise click.ClickException(f"import failed, nothing changed: {exc.message}") from exc
    state = "imported" if report.created else "unchanged (same data already current)"
    click.echo(f"data version {report.version_id}: {state} in {report.seconds:.2f} s")
    for key in sorted(report.counts):
        click.echo(f"  {key}: {report.counts[key]}")
    if report.skipped:
        click.echo(
            "  skipped feature types: " + ", ".join(f"{k}={v}" for k, v in sorted(report.skipped.items()))
        )
