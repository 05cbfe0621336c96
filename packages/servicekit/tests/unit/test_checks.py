from __future__ import annotations

import pytest
from servicekit import ServiceSettings, UnsafeSettingsError, enforce_deploy_checks, run_deploy_checks, secret_checks
from servicekit.checks import is_weak_secret

STRONG = "4f9c2b7e1a8d3f6c0b5e9a2d7c4f1e8b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f"


def safe(**overrides: object) -> ServiceSettings:
    values = {"SECRET_KEY": STRONG, "ALLOWED_HOSTS": ["api.example.org"], "ALLOWED_ORIGINS": [], "DEBUG": False}
    return ServiceSettings(**{**values, **overrides})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("changeme", "placeholder"),
        ("django-insecure-abc", "placeholder"),
        ("a1" * 8, "characters long"),
        ("ab" * 40, "entropy"),
        ("0123456789" * 4, "entropy"),
    ],
)
def test_weak_secrets_are_named_with_a_reason(value: str, reason: str) -> None:
    assert reason in (is_weak_secret(value) or "")


def test_strong_secret_passes() -> None:
    assert is_weak_secret(STRONG) is None
    assert run_deploy_checks(safe()) == []


def test_production_raises_with_every_error_and_development_only_reports() -> None:
    unsafe = safe(SECRET_KEY=None, ALLOWED_ORIGINS=["*"], ALLOWED_HOSTS=[], DEBUG=True)
    ids = [message.id for message in enforce_deploy_checks(unsafe)]
    assert ids == ["SK.E001", "SK.E002", "SK.E003", "SK.E005"]
    with pytest.raises(UnsafeSettingsError) as raised:
        enforce_deploy_checks(unsafe.model_copy(update={"PRODUCTION_MODE": True}))
    assert [message.id for message in raised.value.messages] == ids
    assert "Fix:" in str(raised.value)


def test_service_checks_extend_the_base_set() -> None:
    class JwtSettings(ServiceSettings):
        JWT_SECRET_KEY: str | None = None

    settings = JwtSettings(SECRET_KEY=STRONG, ALLOWED_HOSTS=["h"], PRODUCTION_MODE=True)
    with pytest.raises(UnsafeSettingsError, match=r"SPOT\.E001.*JWT_SECRET_KEY is not set"):
        enforce_deploy_checks(settings, [secret_checks("JWT_SECRET_KEY", "SPOT.E001")])
