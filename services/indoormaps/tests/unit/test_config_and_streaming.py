"""Settings, deploy checks and the CLI's `check --deploy`; the disconnect-safe stream wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from indoormaps.cli import main
from indoormaps.config import LOCAL_DATABASE_URL, Settings, indoormaps_checks
from indoormaps.roles import reader_role_statements
from pydantic import ValidationError

GOOD_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100"
PROD_URL = "postgresql://reader:pw@pgbouncer:6432/indoormaps"


def test_defaults_follow_the_fleet() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.PORT == 8001
    assert settings.database_url == LOCAL_DATABASE_URL
    assert settings.CONN_MAX_AGE == 0
    assert settings.pool_dsn.endswith("?application_name=indoormaps")
    django = settings.django_settings()
    assert django["ROOT_URLCONF"] == "indoormaps.api.urls"
    assert django["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    assert django["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 5


def test_django_never_runs_in_debug_mode() -> None:
    assert Settings(DEBUG=True, _env_file=None).django_settings()["DEBUG"] is False  # type: ignore[call-arg]


def test_bounds_are_validated() -> None:
    with pytest.raises(ValidationError, match="POOL_MIN"):
        Settings(POOL_MIN=5, POOL_MAX=2, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(POOL_TIMEOUT=0, _env_file=None)  # type: ignore[call-arg]


def test_database_url_from_a_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "database_url"
    secret.write_text(PROD_URL + "\n")
    monkeypatch.setenv("DATABASE_URL_FILE", str(secret))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings(_env_file=None).database_url == PROD_URL  # type: ignore[call-arg]


def test_cursor_secret_is_shared_by_replicas_with_the_same_key() -> None:
    a = Settings(SECRET_KEY=GOOD_SECRET, _env_file=None).cursor_secret()  # type: ignore[call-arg]
    b = Settings(SECRET_KEY=GOOD_SECRET, _env_file=None).cursor_secret()  # type: ignore[call-arg]
    assert a == b
    assert a != GOOD_SECRET.encode()


def test_deploy_checks() -> None:
    ids = {m.id for m in indoormaps_checks(Settings(_env_file=None))}  # type: ignore[call-arg]
    assert ids == {"IM.E003", "IM.W001"}
    bad = Settings(DATABASE_URL=PROD_URL + "?options=-c%20statement_timeout%3D5", CONN_MAX_AGE=60, _env_file=None)  # type: ignore[call-arg]
    assert {m.id for m in indoormaps_checks(bad)} >= {"IM.E001", "IM.E002"}
    good = Settings(DATABASE_URL=PROD_URL, SECRET_KEY=GOOD_SECRET, _env_file=None)  # type: ignore[call-arg]
    assert list(indoormaps_checks(good)) == []


def test_cli_check_deploy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "DATABASE_URL_FILE", "SECRET_KEY", "SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    failing = runner.invoke(main, ["check", "--deploy"])
    assert failing.exit_code == 1
    assert "IM.E003" in failing.output
    assert "SK.E001" in failing.output
    monkeypatch.setenv("DATABASE_URL", PROD_URL)
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("ALLOWED_HOSTS", "maps.example.org")
    passing = runner.invoke(main, ["check", "--deploy"])
    assert passing.exit_code == 0, passing.output


def test_reader_role_statements_refuse_odd_names() -> None:
    statements = reader_role_statements("indoormaps_reader", statement_timeout_ms=3000)
    assert "ALTER ROLE indoormaps_reader SET default_transaction_read_only = on" in statements
    assert "ALTER ROLE indoormaps_reader SET statement_timeout = 3000" in statements
    from indoormaps.errors import InvalidParameter

    with pytest.raises(InvalidParameter):
        reader_role_statements("x; DROP TABLE y")


def test_layer_mapping_setting_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "mapping.yaml"
    good.write_text("openings: ['GATE']\n")
    base = {"DATABASE_URL": PROD_URL, "SECRET_KEY": GOOD_SECRET, "_env_file": None}
    assert list(indoormaps_checks(Settings(IMPORT_LAYER_MAPPING=str(good), **base))) == []  # type: ignore[arg-type]
    (message,) = indoormaps_checks(Settings(IMPORT_LAYER_MAPPING=str(tmp_path / "gone.yaml"), **base))  # type: ignore[arg-type]
    assert message.id == "IM.E004"
    assert "cannot read the layer mapping" in message.message
