"""AP coordinator: always-available reads and writes with asynchronous replication (ADR 0100).

Writes go to the first node (in preference order) that takes them and are logged there; per ordered
node pair a replicator ships the origin's log to the destination with retries; anti-entropy compares
digest buckets periodically; reads are local, report staleness, trigger read repair, and honour a
read-your-writes session token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from capstore import events
from capstore.errors import CannotHonourSession, NodeError, NoNodeAvailable
from capstore.events import EventSink, null_sink
from capstore.node import RedisNode, stream_id_key
from capstore.records import Record, validate_key, validate_value
from capstore.session import SessionSigner, SessionToken
from capstore.versioning import HybridClock

__all__ = ["APCoordinator", "APReadResult", "APWriteAck"]


class APWriteAck(NamedTuple):
    key: str
    version: str
    node: str
    log_id: str
    session: str
    """The client's new signed session token (send it with later reads)."""


class APReadResult(NamedTuple):
    key: str
    value: str | None
    version: str | None
    node: str
    staleness_ms: float
    stale: bool
    session: str | None


_ACK_INTERVAL_MS = 100.0
"""While entries keep coming, acknowledge (and let the origin trim its log) at most this often."""


def _wall_ms() -> float:
    return time.time() * 1000


class APCoordinator:
    """`nodes` in preference order: this app's local node first."""

    def __init__(
        self,
        nodes: Sequence[RedisNode],
        clock: HybridClock,
        signer: SessionSigner,
        *,
        max_staleness_ms: float = 1000.0,
        session_wait_ms: float = 200.0,
        replication_batch: int = 1024,
        replication_block_ms: int = 100,
        replication_linger_ms: float = 5.0,
        anti_entropy_interval_s: float = 1.0,
        retry_backoff_s: tuple[float, float] = (0.02, 0.2),
        read_repair: bool = True,
        max_repairs_in_flight: int = 32,
        tombstone_grace_s: float | None = None,
        tombstone_batch: int = 1000,
        events: EventSink = null_sink,
        wall_ms: Callable[[], float] = _wall_ms,
    ) -> None:
        ids = [node.node_id for node in nodes]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"AP mode needs one or more nodes with distinct ids, got {ids}")
        self.nodes = list(nodes)
        self.by_id = {node.node_id: node for node in nodes}
        self.clock = clock
        self.signer = signer
        self.max_staleness_ms = max_staleness_ms
        self.session_wait_ms = session_wait_ms
        self.replication_batch = replication_batch
        self.replication_block_ms = replication_block_ms
        self.replication_linger_s = replication_linger_ms / 1000
        """After shipping a short batch, wait this long before the next read: under a steady write load
        a replicator would otherwise ship one or two entries per round, three round trips each."""
        self.anti_entropy_interval_s = anti_entropy_interval_s
        self.retry_backoff_s = retry_backoff_s
        self.read_repair = read_repair
        self.events = events
        self.wall_ms = wall_ms
        self._started_ms = wall_ms()
        self._synced: dict[tuple[str, str], float] = {}
        self._acked: dict[tuple[str, str], tuple[str, float]] = {}
        self._waiting: dict[tuple[str, str], float] = {}
        self._stopping = asyncio.Event()
        self._partitioned: set[tuple[str, str]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._repairs: set[asyncio.Task[int]] = set()
        self._repairing: set[str] = set()
        self._max_repairs = max_repairs_in_flight
        self.repairs_total = 0
        self.tombstone_grace_s = tombstone_grace_s
        """Tombstones older than this are collected once every node has them (None: never)."""
        self.tombstone_batch = tombstone_batch
        self._gc_pending: tuple[list[tuple[str, str]], dict[tuple[str, str], str]] | None = None
        self.tombstones_collected = 0

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start a replicator per ordered node pair and the anti-entropy loop."""
        if self._tasks:
            return
        self._stopping.clear()
        for origin in self.nodes:
            for dest in self.nodes:
                if origin is not dest:
                    self._tasks.append(asyncio.create_task(self._replicate_forever(origin, dest)))
        if len(self.nodes) > 1 and self.anti_entropy_interval_s > 0:
            self._tasks.append(asyncio.create_task(self._anti_entropy_forever()))

    async def stop(self) -> None:
        """Let the loops finish their current step (each is bounded by the block time and the
        network timeout), then cancel whatever is left."""
        self._stopping.set()
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *self._repairs]
        if tasks:
            grace = self.replication_block_ms / 1000 + 3 * max(node.timeout_s for node in self.nodes)
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()
        self._repairs.clear()

    # -- staleness --------------------------------------------------------------------------------

    def staleness_ms(self, node_id: str) -> float:
        """Upper bound on the age of a peer write that may still be missing on `node_id`."""
        if node_id not in self.by_id:
            raise KeyError(node_id)
        now = self.wall_ms()
        oldest = now
        for origin in self.nodes:
            if origin.node_id == node_id:
                continue
            pair = (origin.node_id, node_id)
            synced = self._synced.get(pair, self._started_ms)
            waiting_since = self._waiting.get(pair)
            if waiting_since is not None and now - waiting_since <= self.replication_block_ms:
                # Caught up and blocked on the origin's log: a new entry would have woken the
                # replicator, so nothing is missing beyond the wake-up latency.
                synced = now
            oldest = min(oldest, synced)
        return max(0.0, now - oldest)

    def staleness(self) -> dict[str, float]:
        return {node.node_id: self.staleness_ms(node.node_id) for node in self.nodes}

    def breaker_states(self) -> dict[str, int]:
        return {node.node_id: int(node.breaker.state) for node in self.nodes}

    # -- writes -----------------------------------------------------------------------------------

    def _decode(self, session: str | None) -> SessionToken:
        return self.signer.decode(session) if session else SessionToken()

    def _failed(self, node: RedisNode, error: NodeError) -> None:
        self.events(
            events.DB_CONNECT_FAILURE,
            mode="ap",
            node=node.node_id,
            error=str(error),
            kind=type(error).__name__,
            maybe_applied=error.maybe_applied,
        )

    async def write(self, key: str, value: str, session: str | None = None) -> APWriteAck:
        return await self._write(validate_key(key), validate_value(value), self._decode(session))

    async def delete(self, key: str, session: str | None = None) -> APWriteAck:
        return await self._write(validate_key(key), None, self._decode(session))

    async def _write(self, key: str, value: str | None, token: SessionToken) -> APWriteAck:
        failures: list[str] = []
        for node in self.nodes:
            for _ in range(3):
                record = Record(value, self.clock.now_encoded())
                try:
                    result = await node.write(key, record, log=True)
                except NodeError as error:
                    # Maybe applied there, maybe not: either way the next node's write carries a
                    # newer version, so last-writer-wins keeps this one.
                    self._failed(node, error)
                    failures.append(str(error))
                    break
                if result.applied:
                    token = token.merged(node.node_id, result.log_id)
                    self.events(
                        events.WRITE,
                        mode="ap",
                        key=key,
                        version=record.version,
                        node=node.node_id,
                        timestamp=time.time(),
                    )
                    return APWriteAck(key, record.version, node.node_id, result.log_id, self.signer.encode(token))
                self.clock.observe(result.version)  # a newer replicated write: a local write must win
        raise NoNodeAvailable(f"no node took the write of {key!r}: {'; '.join(failures)}")

    # -- reads ------------------------------------------------------------------------------------

    @staticmethod
    def _honours(node_id: str, cursors: dict[str, str], token: SessionToken) -> bool:
        for origin, log_id in token.origins.items():
            if origin == node_id or origin not in cursors:
                continue
            if stream_id_key(cursors[origin]) < stream_id_key(log_id):
                return False
        return True

    async def read(self, key: str, session: str | None = None) -> APReadResult:
        validate_key(key)
        token = self._decode(session)
        origins = [origin for origin in token.origins if origin in self.by_id]
        deadline = time.monotonic() + self.session_wait_ms / 1000
        while True:
            answered: list[str] = []
            failures: list[str] = []
            for node in self.nodes:
                try:
                    record, cursors = await node.read(key, [o for o in origins if o != node.node_id])
                except NodeError as error:
                    self._failed(node, error)
                    failures.append(str(error))
                    continue
                answered.append(node.node_id)
                if not self._honours(node.node_id, cursors, token):
                    continue
                if self.read_repair and len(self.nodes) > 1:
                    self._schedule_repair(key)
                staleness = self.staleness_ms(node.node_id)
                return APReadResult(
                    key,
                    record.value if record else None,
                    record.version if record else None,
                    node.node_id,
                    staleness,
                    staleness > self.max_staleness_ms,
                    session,
                )
            if not answered:
                # Every node failed this instant (e.g. one restarting while the other's breaker
                # recovers): retry within the same short budget before giving up on availability.
                if time.monotonic() >= deadline:
                    raise NoNodeAvailable(f"no node could serve the read of {key!r}: {'; '.join(failures)}")
                await asyncio.sleep(0.01)
                continue
            if time.monotonic() >= deadline:
                raise CannotHonourSession(
                    f"none of {answered} applied this session's writes within {self.session_wait_ms:.0f} ms"
                )
            await asyncio.sleep(0.01)

    # -- read repair ------------------------------------------------------------------------------

    def _schedule_repair(self, key: str) -> None:
        if key in self._repairing or len(self._repairs) >= self._max_repairs:
            return  # best effort: anti-entropy catches whatever is skipped here
        self._repairing.add(key)
        task = asyncio.create_task(self.repair_key(key))
        self._repairs.add(task)

        def finished(done: asyncio.Task[int]) -> None:
            self._repairs.discard(done)
            self._repairing.discard(key)

        task.add_done_callback(finished)

    async def repair_key(self, key: str) -> int:
        """Bring every reachable node up to the newest version of `key`; returns nodes repaired."""
        seen: dict[str, Record | None] = {}
        for node in self.nodes:
            with contextlib.suppress(NodeError):
                seen[node.node_id] = (await node.read(key))[0]
        newest = max((r for r in seen.values() if r is not None), key=lambda r: r.version, default=None)
        if newest is None:
            return 0
        repaired = 0
        for node_id, record in seen.items():
            if record is None or record.version < newest.version:
                with contextlib.suppress(NodeError):
                    if (await self.by_id[node_id].write(key, newest)).applied:
                        repaired += 1
        if repaired:
            self.repairs_total += repaired
            self.events(events.READ_REPAIR, key=key, version=newest.version, nodes=repaired)
        return repaired

    # -- replication ------------------------------------------------------------------------------

    async def sync_pair(self, origin: RedisNode, dest: RedisNode) -> int:
        """Ship `origin`'s log to `dest` until caught up; returns entries applied. Raises NodeError."""
        applied, _, _ = await self._ship(origin, dest, await dest.cursor(origin.node_id))
        return applied

    async def _ship(self, origin: RedisNode, dest: RedisNode, cursor: str) -> tuple[int, str, bool]:
        """Ship `origin`'s log after `cursor` (what `dest` applied, as last known) until a batch comes
        back short: caught up as of that read. Returns (entries applied, the new cursor, whether any
        entry was shipped). Acknowledges to `origin` (which trims its log) at most every
        `_ACK_INTERVAL_MS` while entries keep coming, and once a read finds nothing new: under a
        steady load one round trip in three is saved, and the log is trimmed at most that much later."""
        pair = (origin.node_id, dest.node_id)
        applied = 0
        shipped = False
        while True:
            started = self.wall_ms()
            batch = await origin.ship_since(cursor, self.replication_batch)
            if batch.gap:
                # The capped log dropped entries dest never applied: compare everything instead.
                self.events(events.REPLICATION_GAP, origin=origin.node_id, dest=dest.node_id, cursor=cursor)
                applied += await self.anti_entropy_pair(origin, dest)
                await dest.apply_batch(origin.node_id, [], batch.last_id)
                cursor = batch.last_id
                continue
            if batch.read:
                shipped = True
                last = batch.last_read_id
                # origin packed only the newest version of each key: forwarded as it came
                count = await dest.apply_shipped(origin.node_id, batch, last, expected_cursor=cursor)
                if count < 0:  # dest lost entries it had applied (restarted without them): resend from its cursor
                    cursor = await dest.cursor(origin.node_id)
                    continue
                applied += count
                cursor = last
                full = batch.read == self.replication_batch
                if started - self._acked.get(pair, ("", 0.0))[1] >= _ACK_INTERVAL_MS:
                    await self._ack(origin, dest, cursor)
                if full:
                    continue
            elif cursor != "0-0" and self._acked.get(pair, ("", 0.0))[0] != cursor:
                await self._ack(origin, dest, cursor)
            self._synced[pair] = started
            return applied, cursor, shipped

    async def _ack(self, origin: RedisNode, dest: RedisNode, cursor: str) -> None:
        await origin.ack(dest.node_id, cursor, [node.node_id for node in self.nodes if node is not origin])
        self._acked[(origin.node_id, dest.node_id)] = (cursor, self.wall_ms())

    async def _replicate_forever(self, origin: RedisNode, dest: RedisNode) -> None:
        pair = (origin.node_id, dest.node_id)
        backoff = self.retry_backoff_s[0]
        cursor: str | None = None  # dest's cursor for origin, kept between rounds (None: ask dest)
        while not self._stopping.is_set():
            try:
                if cursor is None:
                    cursor = await dest.cursor(origin.node_id)
                _, cursor, shipped = await self._ship(origin, dest, cursor)
                if pair in self._partitioned:
                    self._partitioned.discard(pair)
                    self.events(events.PARTITION_HEALED, origin=pair[0], dest=pair[1])
                backoff = self.retry_backoff_s[0]
                if shipped:
                    # under load the next entries are on their way: let a few gather, then read without blocking
                    if self.replication_linger_s > 0:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self.replication_linger_s):
                                await self._stopping.wait()
                    continue
                waiting_since = self._waiting[pair] = self.wall_ms()
                try:
                    woken = await origin.wait_for_log(cursor, self.replication_block_ms)
                finally:
                    del self._waiting[pair]
                if not woken:  # nothing after the cursor during the whole wait: in sync as of its start
                    self._synced[pair] = max(self._synced.get(pair, 0.0), waiting_since)
            except NodeError as error:
                cursor = None
                self._acked.pop(pair, None)
                if pair not in self._partitioned:
                    self._partitioned.add(pair)
                    self.events(events.PARTITION_DETECTED, origin=pair[0], dest=pair[1], error=str(error))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._stopping.wait()
                backoff = min(backoff * 2, self.retry_backoff_s[1])

    # -- anti-entropy -----------------------------------------------------------------------------

    async def anti_entropy_pair(self, a: RedisNode, b: RedisNode) -> int:
        """Compare digest buckets; copy the newer record of every differing key both ways."""
        digests_a, digests_b = await a.digests(), await b.digests()
        differing = [
            bucket for bucket in set(digests_a) | set(digests_b) if digests_a.get(bucket) != digests_b.get(bucket)
        ]
        copied = 0
        for bucket in sorted(differing):
            versions_a, versions_b = await a.bucket_versions(bucket), await b.bucket_versions(bucket)
            a_newer = [k for k, ver in versions_a.items() if ver > versions_b.get(k, "")]
            b_newer = [k for k, ver in versions_b.items() if ver > versions_a.get(k, "")]
            for source, target, keys in ((a, b, a_newer), (b, a, b_newer)):
                for key, record in (await source.records(keys)).items():
                    if (await target.write(key, record)).applied:
                        copied += 1
        return copied

    async def anti_entropy_once(self) -> int:
        copied = 0
        for i, a in enumerate(self.nodes):
            for b in self.nodes[i + 1 :]:
                with contextlib.suppress(NodeError):
                    copied += await self.anti_entropy_pair(a, b)
        return copied

    async def _anti_entropy_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.anti_entropy_interval_s):
                    await self._stopping.wait()
            if not self._stopping.is_set():
                await self.anti_entropy_once()
                if self.tombstone_grace_s is not None:
                    await self.collect_tombstones()

    # -- tombstone garbage collection (ADR 0100, addendum) ----------------------------------------

    async def _held_everywhere(self, tombstones: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (key, version) tombstones that every node holds exactly."""
        keys = [key for key, _ in tombstones]
        held = [await node.records(keys) for node in self.nodes]
        return [
            (key, version)
            for key, version in tombstones
            if all(key in h and h[key].deleted and h[key].version == version for h in held)
        ]

    async def collect_tombstones(self) -> int:
        """One garbage-collection round; returns the tombstones removed (counted once per key).

        Phase 1 picks tombstones older than the grace period that every node holds with the same
        version, and notes how far every node's replication log has got. No older write of those keys
        can be logged any more (a node holding the tombstone refuses it), so once every peer's
        cursor has passed those points (phase 2, a later round) no replicated write can resurrect a
        key: the tombstones are checked on every node again and removed where still exactly held.
        An unreachable node stops the round; nothing is lost by waiting.
        """
        if self.tombstone_grace_s is None:
            return 0
        try:
            if self._gc_pending is not None:
                return await self._collect_pending()
            horizon = int(self.wall_ms() - self.tombstone_grace_s * 1000)
            candidates: set[str] = set()
            for node in self.nodes:
                candidates.update(await node.tombstones_before(horizon, self.tombstone_batch))
            if not candidates:
                return 0
            first = await self.nodes[0].records(sorted(candidates))
            proposed = [(key, record.version) for key, record in first.items() if record.deleted]
            tombstones = await self._held_everywhere(proposed)
            if tombstones:
                required = {
                    (origin.node_id, dest.node_id): await origin.last_log_id()
                    for origin in self.nodes
                    for dest in self.nodes
                    if origin is not dest
                }
                self._gc_pending = (tombstones, required)
            return 0
        except NodeError:
            return 0

    async def _collect_pending(self) -> int:
        assert self._gc_pending is not None
        tombstones, required = self._gc_pending
        for (origin, dest), last_id in required.items():
            if stream_id_key(await self.by_id[dest].cursor(origin)) < stream_id_key(last_id):
                return 0  # a peer has not applied everything logged before phase 1 yet
        tombstones = await self._held_everywhere(tombstones)
        removed = [await node.collect_tombstones(tombstones) for node in self.nodes]
        self._gc_pending = None
        collected = max(removed, default=0)
        if collected:
            self.tombstones_collected += collected
            self.events(events.TOMBSTONES_COLLECTED, count=collected, per_node=removed)
        return collected
