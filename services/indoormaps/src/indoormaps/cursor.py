"""Opaque, signed keyset cursors: base64url(JSON) + "." + HMAC. Any edit, truncation or reuse with
another query raises InvalidCursor; the cursor pins the data version so resumes stay in snapshot."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from dataclasses import dataclass

from indoormaps.errors import InvalidCursor

__all__ = ["CursorCodec", "CursorState"]

_MAX_TOKEN = 512


@dataclass(frozen=True)
class CursorState:
    layer: str
    version: int
    fingerprint: str  # hash of the query's filters
    key: tuple[float, ...]  # (last id,) or (last score, last id)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("cursor secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]

    def encode(self, state: CursorState) -> str:
        payload = json.dumps(
            {"l": state.layer, "v": state.version, "f": state.fingerprint, "k": list(state.key)},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str, *, layer: str, fingerprint: str) -> CursorState:
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
            raise InvalidCursor("cursor is empty or too long")
        body, dot, mac = token.partition(".")
        if not dot:
            raise InvalidCursor("cursor is malformed")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("cursor is not valid base64") from exc
        if not hmac.compare_digest(signature, self._mac(payload)):
            raise InvalidCursor("cursor signature does not match (tampered or from another server)")
        try:
            data = json.loads(payload)
            state = CursorState(layer=data["l"], version=data["v"], fingerprint=data["f"], key=tuple(data["k"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidCursor("cursor payload is malformed") from exc
        valid_key = 1 <= len(state.key) <= 2 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in state.key
        )
        if not (isinstance(state.version, int) and isinstance(state.layer, str) and valid_key):
            raise InvalidCursor("cursor payload is malformed")
        if state.layer != layer or state.fingerprint != fingerprint:
            raise InvalidCursor("cursor belongs to a different layer or filter set")
        return state
