from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from servicekit import SecretFileError, ServiceSettings


class ExampleSettings(ServiceSettings):
    service_name = "example"
    JWT_SECRET_KEY: SecretStr | None = None


def test_comma_and_json_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", " https://a.example , https://b.example,")
    monkeypatch.setenv("ALLOWED_HOSTS", '["x.example", "y.example"]')
    settings = ExampleSettings()
    assert settings.ALLOWED_ORIGINS == ["https://a.example", "https://b.example"]
    assert settings.ALLOWED_HOSTS == ["x.example", "y.example"]


def test_every_secret_field_reads_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "jwt").write_text("jwt-secret-from-file\n")
    monkeypatch.setenv("JWT_SECRET_KEY_FILE", str(tmp_path / "jwt"))
    settings = ExampleSettings()
    assert settings.JWT_SECRET_KEY is not None
    assert settings.JWT_SECRET_KEY.get_secret_value() == "jwt-secret-from-file"
    assert "jwt-secret-from-file" not in repr(settings)


def test_secret_file_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SecretFileError, match="SECRET_KEY_FILE points at"):
        ExampleSettings()
    (tmp_path / "present").write_text("x")
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "present"))
    monkeypatch.setenv("SECRET_KEY", "y")
    with pytest.raises(SecretFileError, match="both SECRET_KEY and SECRET_KEY_FILE"):
        ExampleSettings()


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=ERROR\nRATE_LIMIT_PER_MINUTE=100\n")
    settings = ExampleSettings()
    assert settings.LOG_LEVEL == "ERROR"
    assert settings.rate_limits == ["1000/3600 second", "100/minute"]


def test_storage_url_prefers_redis_and_uses_async_driver() -> None:
    assert ExampleSettings(REDIS_URL=None).rate_limit_storage_url == "memory://"
    assert ExampleSettings(REDIS_URL="redis://h:6379/1").rate_limit_storage_url == "async+redis://h:6379/1"


def test_secret_values_are_collected_for_redaction() -> None:
    settings = ExampleSettings(SECRET_KEY="k" * 40, JWT_SECRET_KEY="j" * 40)
    assert sorted(settings.secret_values()) == ["j" * 40, "k" * 40]
