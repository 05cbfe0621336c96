"""Buffered JSON log lines for hot paths (one line per request or per write).

The request path only appends a small tuple to a deque; the lines are rendered (orjson) and written
in one `write` per batch, from the event loop shortly after (`FLUSH_INTERVAL`), when a batch is
full, at lifespan shutdown and at exit. The lines have the same fields as the structlog JSON lines
(service, logger, level, ISO-8601 UTC timestamp, the bound context such as the request id) and the
same masking of configured secret values. The price: a process killed with SIGKILL loses at most
the last `FLUSH_INTERVAL` of lines.
"""

from __future__ import annotations

import asyncio
import atexit
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson

__all__ = ["FLUSH_INTERVAL", "MAX_BATCH", "BufferedJsonLines"]

FLUSH_INTERVAL = 0.05
MAX_BATCH = 512
_MASK = b"**********"
_MASK_TEXT = _MASK.decode()

Record = tuple[float, str, str, Mapping[str, Any] | None, dict[str, Any]]
"""(unix time, logger name, event, bound context or None, fields)."""


class BufferedJsonLines:
    """A process-wide sink; `configure` points it at a stream (or disables it) and sets the masks."""

    def __init__(self) -> None:
        self._records: deque[Record] = deque()
        self._stream: IO[bytes] | None = None
        self._service: str | None = None
        self._masks: tuple[tuple[bytes, bytes], ...] = ()
        self._is_secret_key: Callable[[str], bool] = lambda key: False
        self._secret_keys_of: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._second = -1
        self._second_text = ""
        self._scheduled_until = 0.0
        self.enabled = False
        _SINKS.add(self)

    def configure(
        self,
        stream: IO[bytes] | None,
        *,
        service: str | None,
        secret_values: Iterable[str] = (),
        is_secret_key: Callable[[str], bool] = lambda key: False,
    ) -> None:
        """Write to `stream` from now on (None disables the sink); pending lines go to the old stream."""
        self.flush()
        self._stream = stream
        self._service = service
        values = sorted({value for value in secret_values if len(value) >= 4}, key=len, reverse=True)
        # Lines are masked after rendering, so match the secret as JSON renders it.
        self._masks = tuple((orjson.dumps(value)[1:-1], _MASK) for value in values)
        self._is_secret_key = is_secret_key
        self._secret_keys_of.clear()
        self.enabled = stream is not None

    def emit(self, logger: str, event: str, context: Mapping[str, Any] | None, fields: dict[str, Any]) -> None:
        """Queue one line; cheap enough for the request path."""
        self._records.append((time.time(), logger, event, context, fields))
        if len(self._records) >= MAX_BATCH:
            self.flush()
            return
        now = time.monotonic()
        if now < self._scheduled_until:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()  # no event loop (a thread, a script): write at once
            return
        # A pending flush whose loop has gone away (tests, worker shutdown) is simply re-armed here.
        self._scheduled_until = now + FLUSH_INTERVAL + 1.0
        loop.call_later(FLUSH_INTERVAL, self._flush_from_loop)

    def _flush_from_loop(self) -> None:
        self._scheduled_until = 0.0
        self.flush()

    def flush(self) -> None:
        """Render and write every queued line now."""
        records = self._records
        if not records:
            return
        stream = self._stream
        lines: list[bytes] = []
        while records:
            lines.append(self._render(records.popleft()))
        if stream is None:
            return
        payload = b"\n".join(lines) + b"\n"
        for secret, mask in self._masks:
            if secret in payload:
                payload = payload.replace(secret, mask)
        try:
            stream.write(payload)
            stream.flush()
        except (OSError, ValueError):  # closed stream at interpreter exit: nothing left to tell
            pass

    def _secret_keys(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        found = self._secret_keys_of.get(keys)
        if found is None:
            if len(self._secret_keys_of) > 256:
                self._secret_keys_of.clear()
            found = self._secret_keys_of[keys] = tuple(
                key for key in keys if key != "event" and self._is_secret_key(key)
            )
        return found

    def _timestamp(self, stamp: float) -> str:
        """ISO-8601 UTC like structlog's TimeStamper(fmt="iso", utc=True); the date part cached per second."""
        second = int(stamp)
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        micro = int((stamp - second) * 1_000_000)
        return "%s.%06dZ" % (self._second_text, micro) if micro else self._second_text + "Z"  # noqa: UP031 - hot path

    def _render(self, record: Record) -> bytes:
        stamp, logger, event, context, fields = record
        line: dict[str, Any] = {"event": event, **fields}
        if self._service is not None:
            line["service"] = self._service
        line["logger"] = logger
        if context:
            line.update(context)
        line["level"] = "info"
        line["timestamp"] = self._timestamp(stamp)
        for key in self._secret_keys(tuple(line)):
            line[key] = _MASK_TEXT
        return orjson.dumps(line, default=str)


_SINKS: weakref.WeakSet[BufferedJsonLines] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for sink in list(_SINKS):
        sink.flush()
