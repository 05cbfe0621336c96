"""The stored unit (a value with its version) and validation of client keys and values."""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Final, NamedTuple

from capstore.errors import InvalidInput

__all__ = [
    "BUCKETS",
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "MAX_VALUE_BYTES",
    "Record",
    "bucket_of",
    "oversize",
    "validate_key",
    "validate_value",
]

MAX_KEY_LENGTH: Final = 200
MAX_VALUE_BYTES: Final = 64 * 1024
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9._:~-]+")
_FORBIDDEN_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
"""Control characters other than tab, newline and carriage return, and lone surrogates."""
BUCKETS: Final = 64
"""Anti-entropy digest buckets per node."""


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput("key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"key is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}")
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInput(f"key {key[:40]!r} may only contain letters, digits and . _ : ~ -")
    return key


def oversize(value: str) -> int | None:
    """The UTF-8 size of `value` when it is over MAX_VALUE_BYTES, else None."""
    if len(value) <= MAX_VALUE_BYTES // 4:  # at most 4 bytes per code point: no need to encode it
        return None
    size = len(value.encode("utf-8", errors="surrogatepass"))
    return size if size > MAX_VALUE_BYTES else None


def validate_value(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("value must be a string")
    size = oversize(value)
    if size is not None:
        raise InvalidInput(f"value is {size} bytes; the limit is {MAX_VALUE_BYTES}")
    if _FORBIDDEN_CHARS.search(value):
        raise InvalidInput("value must be UTF-8 text without control characters")
    return value


@functools.lru_cache(maxsize=16_384)
def bucket_of(key: str) -> int:
    """Anti-entropy bucket of a key (stable across processes and nodes); cached, as hot keys repeat."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:4], 16) % BUCKETS  # noqa: S324 - not security


class Record(NamedTuple):
    """What a node holds for a key: a value (None for a delete tombstone) and its encoded version."""

    value: str | None
    version: str

    @property
    def deleted(self) -> bool:
        return self.value is None
