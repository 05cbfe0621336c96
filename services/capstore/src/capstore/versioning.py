"""Versions: hybrid logical clock timestamps plus the writer's node id, totally ordered.

The encoding is fixed-width so that comparing two encoded versions byte by byte (as the Lua scripts
do) gives the same order as comparing the tuples.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from capstore.errors import InvalidVersion

__all__ = ["NODE_ID_PATTERN", "ZERO_VERSION", "HybridClock", "Version", "validate_node_id"]

NODE_ID_PATTERN: Final = re.compile(r"[a-z0-9_-]{1,32}")
_MAX_MS: Final = 10**13 - 1
_MAX_LOGICAL: Final = 10**8 - 1
_ENCODED: Final = re.compile(r"(\d{13})\.(\d{8})\.([a-z0-9_-]{1,32})")

ZERO_VERSION: Final = ""
"""Encoded version of a key that was never written: smaller than every real version."""


def validate_node_id(node_id: str) -> str:
    if not NODE_ID_PATTERN.fullmatch(node_id):
        raise InvalidVersion(f"node id {node_id!r} must match {NODE_ID_PATTERN.pattern}")
    return node_id


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """(physical ms, logical counter, node id); dataclass ordering compares in that order."""

    ms: int
    logical: int
    node: str

    def __post_init__(self) -> None:
        if not 0 <= self.ms <= _MAX_MS:
            raise InvalidVersion(f"physical time {self.ms} out of range 0..{_MAX_MS}")
        if not 0 <= self.logical <= _MAX_LOGICAL:
            raise InvalidVersion(f"logical counter {self.logical} out of range 0..{_MAX_LOGICAL}")
        validate_node_id(self.node)

    def encode(self) -> str:
        return f"{self.ms:013d}.{self.logical:08d}.{self.node}"

    @classmethod
    def decode(cls, text: str | bytes) -> Version:
        if isinstance(text, bytes):
            text = text.decode("ascii", errors="replace")
        match = _ENCODED.fullmatch(text)
        if match is None:
            raise InvalidVersion(f"{text!r} is not an encoded version (expected 13.8.node digits)")
        return cls(int(match[1]), int(match[2]), match[3])

    def __str__(self) -> str:
        return self.encode()


class HybridClock:
    """A hybrid logical clock (Kulkarni et al.): close to wall time, never backwards, and always
    ahead of every version it has observed. Thread-safe; `wall_ms` is injectable for tests."""

    def __init__(self, node_id: str, wall_ms: Callable[[], int] | None = None) -> None:
        self.node_id = validate_node_id(node_id)
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._ms = 0
        self._logical = 0
        self._lock = threading.Lock()

    def _advance(self, ms: int, logical: int) -> None:
        if logical > _MAX_LOGICAL:  # a burst beyond the counter borrows the next millisecond
            ms, logical = ms + 1, 0
        self._ms, self._logical = ms, logical

    def _tick(self) -> tuple[int, int]:
        with self._lock:
            wall = self._wall_ms()
            if wall > self._ms:
                self._advance(wall, 0)
            else:
                self._advance(self._ms, self._logical + 1)
            return self._ms, self._logical

    def now(self) -> Version:
        """A fresh version, greater than every version returned or observed before."""
        ms, logical = self._tick()
        return Version(ms, logical, self.node_id)

    def now_encoded(self) -> str:
        """`now().encode()` without building a Version (the write path's hot call)."""
        ms, logical = self._tick()
        return f"{ms:013d}.{logical:08d}.{self.node_id}"

    def observe(self, seen: Version | str) -> None:
        """Merge a version read from a node so that the next `now()` is greater than it."""
        if isinstance(seen, str):
            if seen == ZERO_VERSION:
                return
            seen = Version.decode(seen)
        with self._lock:
            if (seen.ms, seen.logical) >= (self._ms, self._logical):
                self._advance(seen.ms, seen.logical)
