"""Shared fixtures: the campus data folder, a migrated PostGIS database with the campus imported
once per session, and a fresh async pool per test (real PostgreSQL from servicekit's plugin)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from indoormaps.cursor import CursorCodec
from indoormaps.db import Database, open_pool
from indoormaps.streams import FeatureStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from indoormaps_http_support import Service, demo_database, start_service

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    if os.environ.get("FLOTILLA_SHARED"):
        return Path(os.environ["FLOTILLA_SHARED"])
    sibling = REPO_ROOT.parent / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


CAMPUS = shared_dir() / "data" / "indoor" / "spbpu-imdf"


@pytest.fixture(scope="session")
def campus_dir() -> Path:
    assert (CAMPUS / "unit.geojson").is_file(), f"campus data missing at {CAMPUS}"
    return CAMPUS


@pytest.fixture(scope="session")
def indoor_dsn(postgres_server, campus_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """A migrated database with the campus imported (Django configured for it in this process)."""
    from django.core.management import call_command
    from indoormaps.django_settings import build_django_settings, configure_django
    from indoormaps.imdf import import_imdf

    dsn = postgres_server.create_database("indoormaps_test", extensions=("postgis", "pgrouting", "pg_trgm"))
    configure_django(build_django_settings(dsn, secret_key="test-only"))
    call_command("migrate", verbosity=0)
    report = import_imdf(campus_dir)
    assert report.created
    from django.db import connections

    connections.close_all()
    return dsn


@pytest.fixture
async def db(indoor_dsn: str) -> AsyncIterator[Database]:
    pool = await open_pool(indoor_dsn, min_size=1, max_size=4)
    try:
        yield Database(pool, acquire_timeout_s=2.0, statement_timeout_ms=5000)
    finally:
        await pool.close()


@pytest.fixture
def store(db: Database) -> FeatureStore:
    return FeatureStore(db, CursorCodec(b"test-secret-0123456789abcdef"))


# HTTP: the service as a real process (`indoormaps serve`) on a free loopback port ------------


@pytest.fixture(scope="session")
def http_dsn(postgres_server) -> str:  # type: ignore[no-untyped-def]
    return demo_database(postgres_server, "indoormaps_http")


@pytest.fixture(scope="session")
def service(http_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(tmp_path_factory.mktemp("service"), http_dsn)
    yield running
    running.stop()


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(dsn: str, **env: str) -> Service:
        running = start_service(tmp_path / f"svc{len(started)}", dsn, **env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
