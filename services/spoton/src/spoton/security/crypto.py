"""Encrypt sensitive text fields at rest (camera stream URLs carry credentials) with Fernet."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from spoton.errors import ServiceConfigError

__all__ = ["FieldCipher"]


class FieldCipher:
    """Fernet (AES-128-CBC + HMAC) keyed from ENCRYPTION_SECRET_KEY through SHA-256."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ServiceConfigError("ENCRYPTION_SECRET_KEY is empty; set it (or ENCRYPTION_SECRET_KEY_FILE)")
        key = base64.urlsafe_b64encode(hashlib.sha256(b"spoton-field-cipher:" + secret.encode()).digest())
        self._fernet = Fernet(key)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ServiceConfigError(
                "a stored field cannot be decrypted: ENCRYPTION_SECRET_KEY differs from the one that wrote it"
            ) from None
