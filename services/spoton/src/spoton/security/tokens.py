"""JWT access tokens (HS256) with a required secret and key rotation.

Every token names its key in the `kid` header (a fingerprint, never the key). Tokens signed with
the current key are accepted until they expire; tokens signed with a key listed in
JWT_PREVIOUS_SECRET_KEYS only while younger than the rotation grace period; anything else
(unknown key, tampered payload or header, wrong algorithm, expired) is an `AuthenticationError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from spoton.errors import AuthenticationError, ServiceConfigError
from spoton.security.roles import Role

__all__ = ["TokenClaims", "TokenService", "key_id"]

_ALGORITHM = "HS256"
_MIN_KEY_LENGTH = 32


def key_id(secret: str) -> str:
    return hashlib.sha256(b"spoton-jwt-kid:" + secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    role: Role
    issued_at: dt.datetime
    expires_at: dt.datetime
    token_id: str
    key_id: str


class TokenService:
    def __init__(
        self,
        secret: str,
        *,
        previous_secrets: Sequence[str] = (),
        expire_minutes: int = 60,
        grace_minutes: int = 60,
        issuer: str = "spoton",
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if not secret or len(secret) < _MIN_KEY_LENGTH:
            raise ServiceConfigError(
                f"JWT_SECRET_KEY must be set and at least {_MIN_KEY_LENGTH} characters long; "
                'generate one with `python -c "import secrets; print(secrets.token_hex(32))"`'
            )
        self._current = (key_id(secret), secret)
        self._previous = {key_id(s): s for s in previous_secrets if s and s != secret}
        self.expire = dt.timedelta(minutes=expire_minutes)
        self.grace = dt.timedelta(minutes=grace_minutes)
        self.issuer = issuer
        self._clock = clock

    def issue(self, subject: str, role: Role) -> tuple[str, TokenClaims]:
        now = self._clock().replace(microsecond=0)
        claims = TokenClaims(subject, role, now, now + self.expire, secrets.token_hex(8), self._current[0])
        payload = {
            "sub": subject,
            "role": role.value,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "iss": self.issuer,
            "jti": claims.token_id,
        }
        token = jwt.encode(payload, self._current[1], algorithm=_ALGORITHM, headers={"kid": claims.key_id})
        return token, claims

    def verify(self, token: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("malformed token") from None
        kid = header.get("kid")
        if header.get("alg") != _ALGORITHM or not isinstance(kid, str):
            raise AuthenticationError("token algorithm or key id not accepted")
        if kid == self._current[0]:
            secret, rotated = self._current[1], False
        elif kid in self._previous:
            secret, rotated = self._previous[kid], True
        else:
            raise AuthenticationError("token signed with an unknown key")
        now = self._clock()
        try:
            payload = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "jti"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"invalid token: {error}") from None
        try:
            role = Role(str(payload.get("role")))
            issued = dt.datetime.fromtimestamp(int(payload["iat"]), dt.UTC)
            expires = dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC)
        except (ValueError, TypeError):
            raise AuthenticationError("invalid token claims") from None
        # Expiry against our clock (injectable for tests), with no leeway.
        if now >= expires:
            raise AuthenticationError("token expired")
        if issued > now + dt.timedelta(seconds=30):
            raise AuthenticationError("token issued in the future")
        if rotated and now - issued > self.grace:
            raise AuthenticationError("token signed with a retired key after the rotation grace period")
        return TokenClaims(str(payload["sub"]), role, issued, expires, str(payload["jti"]), kid)
