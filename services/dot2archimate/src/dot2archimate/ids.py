"""Deterministic identifiers: the same input gives the same IDs, so re-imports update, not duplicate."""

from __future__ import annotations

import hashlib

__all__ = ["make_id"]


def make_id(*parts: str) -> str:
    """An xs:ID (NCName) derived from `parts` only; no counters, clocks or process state."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16)
    return "id-" + digest.hexdigest()
