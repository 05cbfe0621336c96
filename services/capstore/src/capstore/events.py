"""Domain events the coordinators emit (writes, connection failures, partitions, repairs).

The domain does not log or count by itself: the app layer passes an `EventSink` that logs with
structlog and bumps Prometheus counters. Event names are stable strings (e.g. `DB_CONNECT_FAILURE`).
"""

from __future__ import annotations

from typing import Any, Final, Protocol

__all__ = [
    "DB_CONNECT_FAILURE",
    "PARTITION_DETECTED",
    "PARTITION_HEALED",
    "READ_REPAIR",
    "REPLICATION_GAP",
    "TOMBSTONES_COLLECTED",
    "WRITE",
    "WRITE_REFUSED",
    "EventSink",
    "null_sink",
]

WRITE: Final = "WRITE"
WRITE_REFUSED: Final = "WRITE_REFUSED"
DB_CONNECT_FAILURE: Final = "DB_CONNECT_FAILURE"
PARTITION_DETECTED: Final = "PARTITION_DETECTED"
PARTITION_HEALED: Final = "PARTITION_HEALED"
READ_REPAIR: Final = "READ_REPAIR"
REPLICATION_GAP: Final = "REPLICATION_GAP"
TOMBSTONES_COLLECTED: Final = "TOMBSTONES_COLLECTED"


class EventSink(Protocol):
    def __call__(self, event: str, /, **fields: Any) -> None: ...


def null_sink(event: str, /, **fields: Any) -> None:
    """Discard events."""
