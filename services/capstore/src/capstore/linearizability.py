"""Linearizability checking of client histories against a sequential model.

The search is Wing & Gong's, with Lowe's improvements as Porcupine implements them: operations sit
in a time-ordered doubly linked list of call/return entries; the search linearizes a call whose
model step is legal by lifting it (and its return) out of the list, backtracks when it meets a return
entry it cannot get past, and memoises (set of linearized operations, model state) pairs already
explored, so each configuration is visited once. Histories are split by key first (a register per
key is independent), which keeps each search small.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from capstore.history import (
    HistoryEvent,
    KVInput,
    Operation,
    RegisterInput,
    RegisterOutput,
    events_to_operations,
)

__all__ = [
    "CheckResult",
    "CheckVerdict",
    "KVModel",
    "Model",
    "RegisterModel",
    "check_events",
    "check_operations",
]


class CheckVerdict(StrEnum):
    OK = "linearizable"
    ILLEGAL = "not-linearizable"
    UNKNOWN = "unknown"  # the time budget ran out before the search ended


class Model(Protocol):
    def init(self) -> Hashable: ...

    def step(self, state: Any, input: Any, output: Any, unknown: bool) -> tuple[bool, Hashable]:
        """Is `input → output` legal in `state`? and the state after it. `unknown` marks an
        operation whose output was never seen (it must not constrain anything)."""
        ...

    def partition(self, operations: Sequence[Operation]) -> list[list[Operation]]: ...


@dataclass(frozen=True)
class KVModel:
    """A map of independent registers: get/put/append/delete; `missing` is what get returns for a
    key never written (Porcupine's kv tests use "", capstore returns None)."""

    missing: str | None = None

    def init(self) -> Hashable:
        return self.missing

    def step(self, state: Any, input: Any, output: Any, unknown: bool) -> tuple[bool, Hashable]:
        assert isinstance(input, KVInput)
        if input.op == "get":
            return unknown or output == state, state
        if input.op == "put":
            return True, input.value
        if input.op == "append":
            return True, (state or "") + (input.value or "")
        if input.op == "delete":
            return True, self.missing
        raise ValueError(f"unknown kv operation {input.op!r}")

    def partition(self, operations: Sequence[Operation]) -> list[list[Operation]]:
        by_key: dict[str, list[Operation]] = defaultdict(list)
        for operation in operations:
            assert isinstance(operation.input, KVInput)
            by_key[operation.input.key].append(operation)
        return [by_key[key] for key in sorted(by_key)]


@dataclass(frozen=True)
class RegisterModel:
    """One register with read/write/cas, as in Jepsen's etcd test (state None = never written)."""

    def init(self) -> Hashable:
        return None

    def step(self, state: Any, input: Any, output: Any, unknown: bool) -> tuple[bool, Hashable]:
        assert isinstance(input, RegisterInput)
        out = output if isinstance(output, RegisterOutput) else RegisterOutput(unknown=True)
        unknown = unknown or out.unknown
        if input.op == "read":
            seen = out.value if out.exists else None
            return unknown or seen == state, state
        if input.op == "write":
            return True, input.arg1
        if input.op == "cas":
            matches = state == input.arg1
            return unknown or matches == out.ok, input.arg2 if matches else state
        raise ValueError(f"unknown register operation {input.op!r}")

    def partition(self, operations: Sequence[Operation]) -> list[list[Operation]]:
        return [list(operations)]


@dataclass
class CheckResult:
    verdict: CheckVerdict
    partitions: int = 0
    operations: int = 0
    elapsed_s: float = 0.0
    illegal_partition: list[Operation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict is CheckVerdict.OK


class _Timeout(Exception):
    pass


def _check_partition(model: Model, operations: Sequence[Operation], deadline: float) -> bool:
    n = len(operations)
    if n == 0:
        return True
    # Entries 1..2n in time order (calls before returns on ties, so touching operations overlap);
    # 0 is the head sentinel. Arrays instead of node objects: this loop is the hot path.
    timed = []
    for index, operation in enumerate(operations):
        timed.append((operation.call, 0, index))
        timed.append((operation.ret, 1, index))
    timed.sort(key=lambda item: (item[0], item[1]))
    size = 2 * n + 1
    nxt = [0] * size
    prv = [0] * size
    op_of = [0] * size
    match = [0] * size  # for a call entry: its return entry; 0 for return entries
    call_entry = [0] * n
    for position, (_, kind, index) in enumerate(timed, start=1):
        op_of[position] = index
        if kind == 0:
            call_entry[index] = position
    for position, (_, kind, index) in enumerate(timed, start=1):
        if kind == 1:
            match[call_entry[index]] = position
    for position in range(size):
        nxt[position] = position + 1 if position + 1 < size else -1
        prv[position] = position - 1
    unknown = [math.isinf(operation.ret) for operation in operations]
    inputs = [operation.input for operation in operations]
    outputs = [operation.output for operation in operations]

    def lift(entry: int) -> None:
        prv_e, nxt_e = prv[entry], nxt[entry]
        nxt[prv_e] = nxt_e
        if nxt_e != -1:
            prv[nxt_e] = prv_e
        ret = match[entry]
        prv_r, nxt_r = prv[ret], nxt[ret]
        nxt[prv_r] = nxt_r
        if nxt_r != -1:
            prv[nxt_r] = prv_r

    def unlift(entry: int) -> None:
        ret = match[entry]
        nxt[prv[ret]] = ret
        if nxt[ret] != -1:
            prv[nxt[ret]] = ret
        nxt[prv[entry]] = entry
        if nxt[entry] != -1:
            prv[nxt[entry]] = entry

    state: Hashable = model.init()
    linearized = 0
    cache: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Hashable]] = []
    entry = nxt[0]
    steps = 0
    step = model.step
    while nxt[0] != -1:
        steps += 1
        if steps & 0x3FF == 0 and time.monotonic() > deadline:
            raise _Timeout
        if match[entry]:
            index = op_of[entry]
            legal, new_state = step(state, inputs[index], outputs[index], unknown[index])
            if legal:
                new_linearized = linearized | (1 << index)
                key = (new_linearized, new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state, linearized = new_state, new_linearized
                    lift(entry)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            # A return entry: its operation must be linearized before anything after it. Backtrack.
            if not stack:
                return False
            entry, state = stack.pop()
            linearized &= ~(1 << op_of[entry])
            unlift(entry)
            entry = nxt[entry]
    return True


def check_operations(model: Model, operations: Sequence[Operation], timeout_s: float | None = None) -> CheckResult:
    """Check a history of operations; `timeout_s` bounds the whole search (verdict UNKNOWN then)."""
    started = time.monotonic()
    deadline = started + timeout_s if timeout_s is not None else math.inf
    partitions = model.partition(operations)
    result = CheckResult(CheckVerdict.OK, partitions=len(partitions), operations=len(operations))
    try:
        for part in sorted(partitions, key=len):
            if not _check_partition(model, part, deadline):
                result.verdict = CheckVerdict.ILLEGAL
                result.illegal_partition = list(part)
                break
    except _Timeout:
        result.verdict = CheckVerdict.UNKNOWN
    result.elapsed_s = time.monotonic() - started
    return result


def check_events(model: Model, events: Iterable[HistoryEvent], timeout_s: float | None = None) -> CheckResult:
    """Check a history given as call/return events in real-time order."""
    return check_operations(model, events_to_operations(events), timeout_s)
