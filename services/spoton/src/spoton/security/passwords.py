"""argon2id password hashes (argon2-cffi); hashes needing stronger parameters are upgraded at login."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from spoton.errors import InvalidInputError

__all__ = ["MIN_PASSWORD_LENGTH", "PasswordHasher", "validate_password"]

MIN_PASSWORD_LENGTH = 12


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInputError("password must have at most 1024 characters")
    if len(set(password)) < 5:
        raise InvalidInputError("password is too repetitive")


class PasswordHasher:
    def __init__(self, *, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 2) -> None:
        self._hasher = _Argon2(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)
        # Unknown users are checked against this, so a miss costs as long as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        validate_password(password)
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True on a match. Unknown users verify against a dummy hash so timing does not tell."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
