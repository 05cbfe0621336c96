"""Client histories: a recorder for live tests, and readers for Jepsen-format logs.

An `Operation` is one client call with its invocation and completion times. Operations whose
outcome is unknown (timeout, connection lost after sending) complete at `math.inf`: they may take
effect at any moment after they were invoked, or never (Jepsen's `:info`). Operations that surely
failed are left out, because they had no effect.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capstore.errors import CPReadUnavailable, CPWriteRefused, WriteOutcome

if TYPE_CHECKING:
    from capstore.cp import CPCoordinator, CPWriteAck

__all__ = [
    "EventKind",
    "HistoryEvent",
    "HistoryRecorder",
    "KVInput",
    "Operation",
    "Outcome",
    "PendingOperation",
    "RegisterInput",
    "RegisterOutput",
    "events_to_operations",
    "read_jepsen_etcd_log",
    "read_jepsen_kv_log",
    "recorded_cp_read",
    "recorded_cp_write",
]


class Outcome(StrEnum):
    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class KVInput:
    """A key-value register operation: get, put, append or delete on `key`."""

    op: str
    key: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterInput:
    """A single-register operation as Jepsen's etcd test issues them: read, write, cas."""

    op: str
    arg1: int = 0
    arg2: int = 0


@dataclass(frozen=True, slots=True)
class RegisterOutput:
    ok: bool = True
    exists: bool = False
    value: int = 0
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    client: int
    input: Hashable
    output: Any
    call: float
    ret: float

    @property
    def unknown(self) -> bool:
        return math.isinf(self.ret)


class EventKind(StrEnum):
    CALL = "call"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """A call or return in real-time order (Porcupine's event form); `id` pairs them up."""

    client: int
    kind: EventKind
    value: Any
    id: int


def events_to_operations(events: Iterable[HistoryEvent]) -> list[Operation]:
    """Turn an ordered event list into operations; a call with no return completes at infinity."""
    calls: dict[int, tuple[int, Any, int]] = {}
    operations: list[Operation] = []
    for position, event in enumerate(events):
        if event.kind is EventKind.CALL:
            calls[event.id] = (event.client, event.value, position)
        else:
            client, value, start = calls.pop(event.id)
            operations.append(Operation(client, value, event.value, float(start), float(position)))
    for client, value, start in calls.values():
        operations.append(Operation(client, value, None, float(start), math.inf))
    return operations


@dataclass
class PendingOperation:
    """An invoked operation; exactly one of `ok`, `fail`, `unknown` completes it."""

    recorder: HistoryRecorder
    client: int
    input: Hashable
    call: float
    done: bool = False

    def _finish(self, outcome: Outcome, output: Any) -> None:
        if self.done:
            raise RuntimeError("operation already completed")
        self.done = True
        self.recorder._complete(self, outcome, output, self.recorder.clock())

    def ok(self, output: Any = None) -> None:
        self._finish(Outcome.OK, output)

    def fail(self) -> None:
        """Definitely had no effect (refused before sending, or a read that got no answer)."""
        self._finish(Outcome.FAIL, None)

    def unknown(self) -> None:
        """May or may not have taken effect, now or later."""
        self._finish(Outcome.UNKNOWN, None)


@dataclass
class HistoryRecorder:
    """Thread- and task-safe recorder of invoke/complete times and outcomes."""

    clock: Callable[[], float] = time.monotonic
    entries: list[tuple[int, Hashable, Outcome, Any, float, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, client: int, input: Hashable) -> PendingOperation:
        return PendingOperation(self, client, input, self.clock())

    def _complete(self, pending: PendingOperation, outcome: Outcome, output: Any, ret: float) -> None:
        with self._lock:
            self.entries.append((pending.client, pending.input, outcome, output, pending.call, ret))

    def counts(self) -> dict[Outcome, int]:
        totals = dict.fromkeys(Outcome, 0)
        for entry in self.entries:
            totals[entry[2]] += 1
        return totals

    def operations(self, is_read: Callable[[Hashable], bool] | None = None) -> list[Operation]:
        """Operations for the checker: failures dropped; unknown ones complete at infinity, except
        reads (`is_read`), which have no effect and are dropped when their answer is unknown."""
        result: list[Operation] = []
        for client, input, outcome, output, call, ret in self.entries:
            if outcome is Outcome.FAIL:
                continue
            if outcome is Outcome.UNKNOWN:
                if is_read is not None and is_read(input):
                    continue
                result.append(Operation(client, input, output, call, math.inf))
            else:
                result.append(Operation(client, input, output, call, ret))
        return result


_ETCD = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$")
_CAS_ARGS = re.compile(r"\[(\d+)\s+(\d+)\]")


def read_jepsen_etcd_log(path: Path) -> list[HistoryEvent]:
    """Read a Jepsen etcd register log. `:fail` of a cas is a definite "compare failed"; `:fail` of
    a read and `:info` (timed out) have unknown outcome; an unknown read has no effect."""
    events: list[HistoryEvent] = []
    open_calls: dict[int, int] = {}
    next_id = 0
    for line in path.read_text().splitlines():
        match = _ETCD.match(line)
        if match is None:
            continue
        process, kind, f, arg = int(match[1]), match[2], match[3], match[4]
        if kind == "invoke":
            if f == "read":
                value = RegisterInput("read")
            elif f == "write":
                value = RegisterInput("write", int(arg))
            else:
                cas = _CAS_ARGS.fullmatch(arg)
                if cas is None:
                    raise ValueError(f"{path.name}: malformed cas argument {arg!r}")
                value = RegisterInput("cas", int(cas[1]), int(cas[2]))
            open_calls[process] = next_id
            events.append(HistoryEvent(process, EventKind.CALL, value, next_id))
            next_id += 1
        elif kind == "info":
            continue  # the call stays open: it completes at infinity
        else:
            call_id = open_calls.pop(process)
            if kind == "fail" and f == "read":
                output = RegisterOutput(unknown=True)
            elif f == "read":
                output = RegisterOutput(exists=arg != "nil", value=0 if arg == "nil" else int(arg))
            else:
                output = RegisterOutput(ok=kind == "ok")
            events.append(HistoryEvent(process, EventKind.RETURN, output, call_id))
    for process, call_id in open_calls.items():
        events.append(HistoryEvent(process, EventKind.RETURN, RegisterOutput(unknown=True), call_id))
    return events


_KV = re.compile(
    r'^\{:process (\d+), :type :(invoke|ok|fail|info), :f :(get|put|append), :key "(.*?)", '
    r':value (nil|"(.*)")\}$'
)


def read_jepsen_kv_log(path: Path) -> list[HistoryEvent]:
    """Read a Jepsen-style key-value log (get/put/append on string keys)."""
    events: list[HistoryEvent] = []
    open_calls: dict[int, tuple[int, str]] = {}
    next_id = 0
    for line in path.read_text().splitlines():
        match = _KV.match(line.strip())
        if match is None:
            continue
        process, kind, f, key, value = int(match[1]), match[2], match[3], match[4], match[6]
        if kind == "invoke":
            open_calls[process] = (next_id, key)
            events.append(HistoryEvent(process, EventKind.CALL, KVInput(f, key, value), next_id))
            next_id += 1
        elif kind == "info":
            continue
        else:
            call_id, _ = open_calls.pop(process)
            if kind == "fail":
                raise ValueError(f"{path.name}: unexpected :fail line {line!r}")
            output = (value or "") if f == "get" else None
            events.append(HistoryEvent(process, EventKind.RETURN, output, call_id))
    for process, (call_id, _) in open_calls.items():
        events.append(HistoryEvent(process, EventKind.RETURN, None, call_id))
    return events


async def recorded_cp_write(
    recorder: HistoryRecorder, process: int, coordinator: CPCoordinator, key: str, value: str
) -> tuple[str, CPWriteAck | None]:
    """A CP write recorded as Jepsen records it: refused-not-applied is a failure, refused-unknown may
    still take effect. Returns an outcome label (for tallies) and the ack when it succeeded."""
    op = recorder.invoke(process, KVInput("put", key, value))
    try:
        ack = await coordinator.write(key, value)
    except CPWriteRefused as refused:
        (op.fail if refused.outcome is WriteOutcome.NOT_APPLIED else op.unknown)()
        return f"write {refused.outcome.value}", None
    op.ok()
    return "write ok", ack


async def recorded_cp_read(recorder: HistoryRecorder, process: int, coordinator: CPCoordinator, key: str) -> str:
    """A CP read recorded in the history; an unavailable primary is a failed read (no effect)."""
    op = recorder.invoke(process, KVInput("get", key))
    try:
        result = await coordinator.read(key)
    except CPReadUnavailable:
        op.fail()
        return "read unavailable"
    op.ok(result.value)
    return "read ok"
