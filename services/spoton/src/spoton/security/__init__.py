"""Passwords (argon2), access tokens (JWT with key rotation), roles, field encryption."""

from spoton.security.crypto import FieldCipher
from spoton.security.passwords import PasswordHasher, validate_password
from spoton.security.roles import ROLES, Role, role_allows
from spoton.security.tokens import TokenClaims, TokenService

__all__ = [
    "ROLES",
    "FieldCipher",
    "PasswordHasher",
    "Role",
    "TokenClaims",
    "TokenService",
    "role_allows",
    "validate_password",
]
