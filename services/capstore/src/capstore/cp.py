"""CP coordinator: linearizable reads and writes over one primary and its backups (ADR 0100).

A write is sent to every backup, then to the primary, each version-guarded and durable; it is
acknowledged only when all applied it. Any unreachable node or open breaker refuses the write, and
the refusal says whether the value can ever become visible (`unknown`) or not (`not_applied`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from capstore import events
from capstore.breaker import is_open
from capstore.errors import CPReadUnavailable, CPWriteRefused, NodeError, WriteOutcome
from capstore.events import EventSink, null_sink
from capstore.node import RedisNode
from capstore.records import Record, validate_key, validate_value
from capstore.versioning import HybridClock

__all__ = ["CPCoordinator", "CPReadResult", "CPWriteAck"]


class CPWriteAck(NamedTuple):
    key: str
    version: str
    attempts: int


class CPReadResult(NamedTuple):
    key: str
    value: str | None
    """None when the key was never written or was deleted."""
    version: str | None
    node: str


class CPCoordinator:
    def __init__(
        self,
        primary: RedisNode,
        backups: Sequence[RedisNode],
        clock: HybridClock,
        *,
        durable: bool = True,
        max_attempts: int = 3,
        events: EventSink = null_sink,
    ) -> None:
        if not backups:
            raise ValueError("CP mode needs at least one backup node besides the primary")
        ids = [primary.node_id, *(node.node_id for node in backups)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"node ids must be distinct, got {ids}")
        self.primary = primary
        self.backups = list(backups)
        self.clock = clock
        self.durable = durable
        self.max_attempts = max_attempts
        self.events = events

    @property
    def nodes(self) -> list[RedisNode]:
        return [*self.backups, self.primary]

    def breaker_states(self) -> dict[str, int]:
        return {node.node_id: int(node.breaker.state) for node in self.nodes}

    async def _preflight(self, key: str) -> None:
        """Refuse before sending anything if a breaker is open; an open breaker that is due for a
        half-open trial gets a PING as its probe."""
        for node in self.nodes:
            if not is_open(node.breaker):
                continue
            try:
                await node.ping()
            except NodeError as error:
                raise self._refused(
                    key, WriteOutcome.NOT_APPLIED, f"node {node.node_id} unavailable: {error}"
                ) from error

    def _refused(self, key: str, outcome: WriteOutcome, reason: str) -> CPWriteRefused:
        self.events(events.WRITE_REFUSED, mode="cp", key=key, outcome=outcome.value, reason=reason)
        return CPWriteRefused(key, outcome, reason)

    def _failed(self, node: RedisNode, error: NodeError) -> None:
        self.events(
            events.DB_CONNECT_FAILURE,
            mode="cp",
            node=node.node_id,
            error=str(error),
            kind=type(error).__name__,
            maybe_applied=error.maybe_applied,
        )

    async def write(self, key: str, value: str) -> CPWriteAck:
        return await self._write(validate_key(key), validate_value(value))

    async def delete(self, key: str) -> CPWriteAck:
        return await self._write(validate_key(key), None)

    async def _write(self, key: str, value: str | None) -> CPWriteAck:
        await self._preflight(key)
        for attempt in range(1, self.max_attempts + 1):
            record = Record(value, self.clock.now_encoded())
            superseded_by = ""
            for backup in self.backups:
                try:
                    result = await backup.write(key, record, durable=self.durable)
                except NodeError as error:
                    self._failed(backup, error)
                    # The primary was not touched, and nothing copies a backup value to the
                    # primary: whatever the backup did, the write can never be read.
                    raise self._refused(key, WriteOutcome.NOT_APPLIED, f"backup {backup.node_id}: {error}") from error
                if not result.applied:
                    superseded_by = result.version
                    break
            if not superseded_by:
                try:
                    result = await self.primary.write(key, record, durable=self.durable)
                except NodeError as error:
                    self._failed(self.primary, error)
                    outcome = WriteOutcome.UNKNOWN if error.maybe_applied else WriteOutcome.NOT_APPLIED
                    raise self._refused(key, outcome, f"primary {self.primary.node_id}: {error}") from error
                if result.applied:
                    self.events(events.WRITE, mode="cp", key=key, version=record.version, timestamp=time.time())
                    return CPWriteAck(key, record.version, attempt)
                if result.ambiguous:
                    # The connection broke after the write was sent, and the retry found a newer
                    # version: this write may have been applied and read before that one replaced
                    # it. Writing it again under a new version would make it take effect twice.
                    raise self._refused(
                        key, WriteOutcome.UNKNOWN, f"primary {self.primary.node_id}: outcome lost with the connection"
                    )
                superseded_by = result.version
            # Another writer holds a newer version: move our clock past it and write again, so a
            # write that started after that one finished is ordered after it.
            self.clock.observe(superseded_by)
        raise self._refused(
            key, WriteOutcome.NOT_APPLIED, f"superseded {self.max_attempts} times by concurrent writers"
        )

    async def read(self, key: str) -> CPReadResult:
        validate_key(key)
        try:
            record, _ = await self.primary.read(key)
        except NodeError as error:
            self._failed(self.primary, error)
            raise CPReadUnavailable(f"primary {self.primary.node_id} cannot serve reads: {error}") from error
        if record is None:
            return CPReadResult(key, None, None, self.primary.node_id)
        return CPReadResult(key, record.value, record.version, self.primary.node_id)
