"""`indoormaps` console script: servicekit's `serve` and `check --deploy`, plus `migrate`,
`import imdf PATH|ZIP` and `demo-data` (migrate + import the shipped campus once)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import SecretStr
from servicekit.cli import service_cli

from indoormaps.config import Settings, indoormaps_checks
from indoormaps.django_settings import configure_django
from indoormaps.errors import IndoorMapsError

if TYPE_CHECKING:  # the loader needs Django configured: imported inside the commands
    from indoormaps.imdf.loader import ImportReport

__all__ = ["main"]

main = service_cli(
    "indoormaps",
    settings_factory=Settings,
    app_factory_path="indoormaps.app:asgi",
    extra_checks=[indoormaps_checks],
    help_text="Indoor maps: IMDF import, feature streams and multi-floor routing on PostGIS.",
)

_DB_OPTION = click.option(
    "--database-url",
    default=None,
    help="postgresql://user:password@host:port/dbname (default: DATABASE_URL / DATABASE_URL_FILE)",
)


def _setup(database_url: str | None) -> None:
    settings = Settings() if database_url is None else Settings(DATABASE_URL=SecretStr(database_url))
    try:
        configure_django(settings.django_settings())
    except IndoorMapsError as exc:
        raise click.UsageError(exc.message) from exc
    from django.db import Error as DjangoDatabaseError
    from django.db import connection

    try:
        connection.ensure_connection()
    except DjangoDatabaseError as exc:
        # A clear one-line reason instead of a traceback (psycopg's message names host and port, not the password).
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise click.ClickException(f"cannot reach the database: {reason}") from exc


@main.command()
@_DB_OPTION
def migrate(database_url: str | None) -> None:
    """Create or update the schema (PostGIS, pg_trgm and pgRouting extensions included)."""
    _setup(database_url)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@main.command(name="demo-data")
@_DB_OPTION
def demo_data(database_url: str | None) -> None:
    """Migrate and import the shipped SPbPU campus unless data is already loaded (idempotent)."""
    _setup(database_url)
    from indoormaps.demo import ensure_demo_data

    try:
        outcome = ensure_demo_data()
    except IndoorMapsError as exc:
        raise click.ClickException(f"demo data import failed, nothing changed: {exc.message}") from exc
    if outcome.imported:
        click.echo(f"data version {outcome.version_id}: imported the SPbPU campus in {outcome.seconds:.2f} s")
    else:
        click.echo(f"data version {outcome.version_id} ({outcome.source}) already current: nothing to do")


@main.command(name="grant-reader")
@click.argument("role")
@_DB_OPTION
@click.option("--statement-timeout-ms", type=int, default=5000, show_default=True)
def grant_reader(role: str, database_url: str | None, statement_timeout_ms: int) -> None:
    """Make an existing login ROLE the service's read-only role (defaults + SELECT grants)."""
    _setup(database_url)
    from django.db import connection, transaction

    from indoormaps.roles import reader_role_statements

    try:
        statements = reader_role_statements(role, statement_timeout_ms=statement_timeout_ms)
    except IndoorMapsError as exc:
        raise click.UsageError(exc.message) from exc
    with transaction.atomic(), connection.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    click.echo(f"{role}: read-only, statement_timeout={statement_timeout_ms} ms, SELECT granted")


@main.group(name="import")
def import_group() -> None:
    """Import map data as a new data version."""


@import_group.command(name="imdf")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@_DB_OPTION
@click.option("--force", is_flag=True, help="Import even if the same data is already current.")
def import_imdf_command(path: Path, database_url: str | None, force: bool) -> None:
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
    _echo_report(report, skipped_label="skipped feature types")


def _echo_report(report: ImportReport, *, skipped_label: str) -> None:
    """What an import did: the data version, whether it changed anything, counts and skipped parts."""
    state = "imported" if report.created else "unchanged (same data already current)"
    click.echo(f"data version {report.version_id}: {state} in {report.seconds:.2f} s")
    for key in sorted(report.counts):
        click.echo(f"  {key}: {report.counts[key]}")
    if report.skipped:
        click.echo(f"  {skipped_label}: " + ", ".join(f"{k}={v}" for k, v in sorted(report.skipped.items())))


def _drawing_command(kind: str, doc: str) -> None:
    @import_group.command(name=kind, help=doc)
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--level",
        "levels",
        type=int,
        multiple=True,
        required=True,
        help="Level ordinal (0 = entrance floor): once for all files, or once per file in order.",
    )
    @click.option("--level-name", "level_names", multiple=True, help="Display name per distinct level, ascending.")
    @click.option(
        "--source-crs",
        default=None,
        help="CRS of the coordinates, e.g. EPSG:32636 (required for DXF; GeoJSON defaults to lon/lat).",
    )
    @click.option(
        "--mapping",
        "mapping_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="YAML layer mapping (default: IMPORT_LAYER_MAPPING, else the shipped one).",
    )
    @click.option("--building", "building_name", default=None, help="Building name (default: the first file's name).")
    @click.option("--layer-property", default="layer", show_default=True,
                  help="GeoJSON property naming a feature's layer (else the file name).")  # fmt: skip
    @_DB_OPTION
    @click.option("--force", is_flag=True, help="Import even if the same data is already current.")
    def command(
        paths: tuple[Path, ...],
        levels: tuple[int, ...],
        level_names: tuple[str, ...],
        source_crs: str | None,
        mapping_path: Path | None,
        building_name: str | None,
        layer_property: str,
        database_url: str | None,
        force: bool,
    ) -> None:
        settings = Settings() if database_url is None else Settings(DATABASE_URL=SecretStr(database_url))
        _setup(database_url)
        from indoormaps.drawings import STAGES, LayerMapping, import_drawings

        try:
            configured = mapping_path or (
                Path(settings.IMPORT_LAYER_MAPPING) if settings.IMPORT_LAYER_MAPPING else None
            )
            mapping = LayerMapping.load(configured)
            with click.progressbar(length=len(STAGES), label=f"importing {kind}", show_pos=True) as bar:

                def advance(stage: str) -> None:
                    bar.label = f"importing {kind}: {stage}"
                    bar.update(1)

                report = import_drawings(
                    kind,
                    list(paths),
                    levels=levels,
                    level_names=level_names,
                    mapping=mapping,
                    source_crs=source_crs,
                    building_name=building_name,
                    layer_property=layer_property,
                    ogr_timeout_s=settings.IMPORT_GDAL_TIMEOUT_S,
                    force=force,
                    progress=advance,
                )
        except IndoorMapsError as exc:
            raise click.ClickException(f"import failed, nothing changed: {exc.message}") from exc
        _echo_report(report, skipped_label="skipped")


_drawing_command(
    "dxf",
    "Import DXF floor plans via GDAL (layers mapped to rooms/doors/base floor) as one data version.",
)
_drawing_command(
    "geojson",
    "Import GeoJSON files (a `layer` property or the file name picks rooms/doors/base floor) as one data version.",
)
