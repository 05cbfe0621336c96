"""JWT issue/verify, tampering, expiry and key rotation; argon2 passwords."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from spoton.errors import AuthenticationError, InvalidInputError, ServiceConfigError
from spoton.security import PasswordHasher, Role, TokenService

KEY = "a" * 8 + "0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4"
OLD = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip() -> None:
    service = TokenService(KEY)
    token, claims = service.issue("ana", Role.OPERATOR)
    verified = service.verify(token)
    assert (verified.subject, verified.role, verified.token_id) == ("ana", Role.OPERATOR, claims.token_id)


def test_a_secret_is_required() -> None:
    with pytest.raises(ServiceConfigError, match="JWT_SECRET_KEY"):
        TokenService("")
    with pytest.raises(ServiceConfigError, match="at least 32"):
        TokenService("short")


@pytest.mark.parametrize("part", ["payload", "signature", "header"])
def test_tampering_is_refused(part: str) -> None:
    service = TokenService(KEY)
    token, _ = service.issue("ana", Role.VIEWER)
    header, payload, signature = token.split(".")
    if part == "payload":  # promote ourselves to admin, keep the signature
        claims = jwt.decode(token, options={"verify_signature": False})
        payload = _b64({**claims, "role": "admin"})
    elif part == "signature":
        signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    else:
        header = _b64({"alg": "none", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]})
    with pytest.raises(AuthenticationError):
        service.verify(f"{header}.{payload}.{signature}")


def test_token_from_another_key_is_refused() -> None:
    token, _ = TokenService(OLD).issue("ana", Role.ADMIN)
    with pytest.raises(AuthenticationError, match="unknown key"):
        TokenService(KEY).verify(token)


def test_garbage_is_refused() -> None:
    for junk in ("", "abc", "a.b.c", "' OR 1=1 --"):
        with pytest.raises(AuthenticationError):
            TokenService(KEY).verify(junk)


def test_expiry_uses_the_clock() -> None:
    clock = Clock()
    service = TokenService(KEY, expire_minutes=5, clock=clock)
    token, _ = service.issue("ana", Role.VIEWER)
    clock.now += dt.timedelta(minutes=4, seconds=59)
    service.verify(token)
    clock.now += dt.timedelta(seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        service.verify(token)


def test_rotation_accepts_the_previous_key_only_during_the_grace_period() -> None:
    clock = Clock()
    old_token, _ = TokenService(OLD, expire_minutes=120, clock=clock).issue("ana", Role.VIEWER)
    rotated = TokenService(KEY, previous_secrets=[OLD], expire_minutes=120, grace_minutes=30, clock=clock)
    assert rotated.verify(old_token).subject == "ana"
    new_token, claims = rotated.issue("ana", Role.VIEWER)
    assert jwt.get_unverified_header(new_token)["kid"] == claims.key_id != jwt.get_unverified_header(old_token)["kid"]
    clock.now += dt.timedelta(minutes=31)
    with pytest.raises(AuthenticationError, match="grace"):
        rotated.verify(old_token)
    rotated.verify(new_token)  # tokens of the current key live their full life
    # Dropping the old key from the list retires its tokens at once.
    with pytest.raises(AuthenticationError, match="unknown key"):
        TokenService(KEY, clock=clock).verify(old_token)


def test_passwords() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost_kib=8192)
    stored = hasher.hash("a long enough passphrase")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "a long enough passphrase")
    assert not hasher.verify(stored, "a long enough passphrasE")
    assert not hasher.verify(None, "a long enough passphrase")
    assert not hasher.verify("not a hash", "a long enough passphrase")
    with pytest.raises(InvalidInputError, match="at least 12"):
        hasher.hash("short")
    with pytest.raises(InvalidInputError, match="repetitive"):
        hasher.hash("aaaaaaaaaaaaaaaa")
