"""Settings defaults, production refusals and the model start-up check."""

from __future__ import annotations

from pathlib import Path

import pytest
from servicekit import UnsafeSettingsError, run_deploy_checks
from spoton.app import create_app
from spoton.config import DEPLOY_CHECKS, Settings

STRONG = "b7f3e9a1c5d2f8e4a6b0c9d7e3f1a5b8c2d6e0f4a9b3c7d1e5f9a2b6c0d4e8f3"


def make(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, DATA_DIR=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite", **values)


def test_defaults_follow_the_seed(tmp_path: Path) -> None:
    s = make(tmp_path)
    assert s.PORT == 8002
    assert s.API_V1_PREFIX == "/api/v1"
    assert (s.ENABLE_ANALYTICS_ENDPOINTS, s.ENABLE_EXPORT_ENDPOINTS, s.ENABLE_AUTH_ENDPOINTS) == (True, True, True)
    assert s.ENABLE_ADMIN_ENDPOINTS is False
    assert (s.DETECTOR_TYPE, s.TRACKER_TYPE) == ("hog", "bytetrack")
    assert Settings(_env_file=None).DATABASE_URL.startswith("sqlite:///.data/spoton/")


def test_production_refuses_a_missing_jwt_secret(tmp_path: Path) -> None:
    s = make(
        tmp_path, PRODUCTION_MODE=True, SECRET_KEY=STRONG, ENCRYPTION_SECRET_KEY=STRONG[::-1],
        ALLOWED_HOSTS=["spoton.example.org"],
    )  # fmt: skip
    with pytest.raises(UnsafeSettingsError) as raised:
        create_app(s)
    assert [m.id for m in raised.value.messages] == ["SPOT.E001"]
    assert not list(tmp_path.glob("*.dev-secret"))  # refused before any fallback secret was written


def test_production_refuses_a_weak_jwt_secret(tmp_path: Path) -> None:
    s = make(tmp_path, JWT_SECRET_KEY="your-very-secure-jwt-secret-key-here")
    ids = {m.id for m in run_deploy_checks(s, DEPLOY_CHECKS)}
    assert "SPOT.E001" in ids


def test_secrets_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "jwt"
    secret_file.write_text(STRONG + "\n")
    monkeypatch.setenv("JWT_SECRET_KEY_FILE", str(secret_file))
    assert make(tmp_path).JWT_SECRET_KEY.get_secret_value() == STRONG  # type: ignore[union-attr]


def test_missing_weights_fail_at_start_naming_the_file(tmp_path: Path) -> None:
    s = make(tmp_path, DETECTOR_TYPE="fasterrcnn", WEIGHTS_DIR=tmp_path / "weights")
    messages = [m for m in run_deploy_checks(s, DEPLOY_CHECKS) if m.id == "SPOT.E003"]
    assert messages
    assert "fasterrcnn_resnet50_fpn.pth" in messages[0].message
    from spoton.errors import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match=r"fasterrcnn_resnet50_fpn\.pth"):
        create_app(s)


def test_bad_prefix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="API_V1_PREFIX"):
        make(tmp_path, API_V1_PREFIX="api/v1/")


def test_development_secrets_persist_across_restarts(tmp_path: Path) -> None:
    create_app(make(tmp_path))
    first = (tmp_path / "jwt_secret_key.dev-secret").read_text()
    create_app(make(tmp_path))
    assert (tmp_path / "jwt_secret_key.dev-secret").read_text() == first
    assert oct((tmp_path / "jwt_secret_key.dev-secret").stat().st_mode & 0o777) == "0o600"
