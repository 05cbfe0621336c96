"""Read-your-writes session tokens: per origin node, the newest replication-log id the client wrote,
signed with HMAC-SHA256 so a client cannot forge a weaker (or stronger) requirement."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from capstore.errors import InvalidSessionToken
from capstore.node import stream_id_key
from capstore.versioning import NODE_ID_PATTERN

__all__ = ["SessionSigner", "SessionToken"]

_STREAM_ID: Final = re.compile(r"\d{1,20}-\d{1,20}")
_MAX_TOKEN_CHARS: Final = 2048
_MAX_ORIGINS: Final = 32
_SHA256_BLOCK: Final = 64


class SessionToken(NamedTuple):
    origins: Mapping[str, str] = MappingProxyType({})
    """origin node id → newest log id of this client's writes there (never changed in place)."""

    def merged(self, origin: str, log_id: str) -> SessionToken:
        if not log_id:
            return self
        current = self.origins.get(origin)
        if current is not None and stream_id_key(current) >= stream_id_key(log_id):
            return self
        return SessionToken({**self.origins, origin: log_id})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ValueError("the session secret must be at least 16 bytes (use SECRET_KEY)")
        # HMAC-SHA256 (RFC 2104) with the keyed pads hashed once: a write signs a token per request,
        # and re-keying per call was most of its cost. The same MACs as hmac.digest (tested).
        block = key if len(key) <= _SHA256_BLOCK else hashlib.sha256(key).digest()
        block = block.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def _mac(self, payload: str) -> str:
        inner = self._inner.copy()
        inner.update(payload.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return _b64(outer.digest())

    def encode(self, token: SessionToken) -> str:
        # The compact, key-sorted JSON of json.dumps(sort_keys=True, separators=(",", ":")), written
        # directly: node ids and stream ids never need escaping (decode and the nodes enforce both).
        pairs = ",".join(f'"{origin}":"{log_id}"' for origin, log_id in sorted(token.origins.items()))
        payload = _b64(f'{{"o":{{{pairs}}}}}'.encode())
        return f"{payload}.{self._mac(payload)}"

    def decode(self, text: str) -> SessionToken:
        # non-ASCII text is refused here: hmac.compare_digest raises TypeError on non-ASCII str
        if not isinstance(text, str) or len(text) > _MAX_TOKEN_CHARS or text.count(".") != 1 or not text.isascii():
            raise InvalidSessionToken("session token is malformed")
        payload, mac = text.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidSessionToken("session token signature does not verify")
        try:
            data = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as error:
            raise InvalidSessionToken("session token payload is not valid JSON") from error
        origins = data.get("o") if isinstance(data, dict) else None
        if not isinstance(origins, dict) or len(origins) > _MAX_ORIGINS:
            raise InvalidSessionToken("session token payload has no origin map")
        for origin, log_id in origins.items():
            if not NODE_ID_PATTERN.fullmatch(str(origin)) or not _STREAM_ID.fullmatch(str(log_id)):
                raise InvalidSessionToken("session token names an invalid node or log id")
        return SessionToken(dict(origins))
