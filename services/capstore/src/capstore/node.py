"""A Redis node adapter: version-guarded writes, replication log, anti-entropy digests.

Every call goes through the node's breaker and is bounded by the network timeout. Redis and socket
errors are translated here into `NodeUnavailable` / `NodeTimeout`, and each error says whether the
command may have reached the node (`maybe_applied`): a failure while connecting, or a refusal by an
open breaker, means it surely did not; a failure after sending means the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from capstore.breaker import Breaker, NullBreaker
from capstore.errors import CapstoreError, NodeError, NodeTimeout, NodeUnavailable
from capstore.records import BUCKETS, Record, bucket_of
from capstore.resp import PipelinedConnection, RespError, RespTarget
from capstore.scripts import ACK, APPLY_BATCH, BUCKET_VERSIONS, COLLECT_TOMBSTONES, READ, SHIP, WRITE
from capstore.versioning import validate_node_id

__all__ = ["LogBatch", "LogEntry", "RedisNode", "ShippedBatch", "WriteResult", "stream_id_key"]

T = TypeVar("T")

PREFIX: Final = "cap:"
KV: Final = PREFIX + "kv:"
LOG: Final = PREFIX + "log"
DIGEST: Final = PREFIX + "digest"
BUCKET: Final = PREFIX + "bucket:"
CURSOR: Final = PREFIX + "cursor:"
ACKED: Final = PREFIX + "acked:"
TOMBSTONES: Final = PREFIX + "tombstones"

_CONNECTION_ERRORS: Final = (redis_errors.ConnectionError, ConnectionError, OSError)
_TIMEOUT_ERRORS: Final = (redis_errors.TimeoutError, TimeoutError)


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Order of Redis stream ids ("ms-seq")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class WriteResult(NamedTuple):
    applied: bool
    version: str
    """The version the node holds after the call (ours if applied, the newer one if superseded)."""
    log_id: str = ""
    """Id of the replication-log entry (AP writes only)."""
    ambiguous: bool = False
    """Not applied by the attempt that answered, but an earlier attempt on a broken connection may
    have been (and a newer write has replaced it since)."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: str
    key: str
    record: Record


@dataclass(frozen=True, slots=True)
class LogBatch:
    entries: list[LogEntry]
    last_id: str
    """The log's last generated id when read ("0-0" if the log never had an entry)."""
    gap: bool
    """Entries after the cursor were trimmed before the reader applied them."""


@dataclass(frozen=True, slots=True)
class ShippedBatch:
    """A read of the replication log packed by the node itself for a peer's APPLY_BATCH: the
    replicator forwards `keys` and `args` as they came, without a Python object per entry."""

    read: int
    """Entries read after the cursor (before keeping the newest version of each key)."""
    last_read_id: str
    """Id of the last entry read ("" if none)."""
    last_id: str
    """The log's last generated id when read ("0-0" if the log never had an entry)."""
    gap: bool
    """Entries after the cursor were deleted before the reader applied them."""
    keys: list[bytes]
    args: list[bytes]


class _Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


class RedisNode:
    """One Redis node. `timeout_s` bounds connect and every reply (NETWORK_TIMEOUT_SEC)."""

    def __init__(
        self,
        node_id: str,
        url: str,
        *,
        timeout_s: float = 1.0,
        breaker: Breaker | None = None,
        max_log_len: int = 100_000,
        max_connections: int = 64,
    ) -> None:
        self.node_id = validate_node_id(node_id)
        self.url = url
        self.timeout_s = timeout_s
        self.breaker: Breaker = breaker or NullBreaker()
        self.max_log_len = max_log_len
        # No socket_timeout: redis-py would wrap every send and read in asyncio.wait_for, a task per
        # call; `_run_pooled` bounds the reply with one asyncio.timeout instead (same NETWORK_TIMEOUT_SEC).
        self._pool = ConnectionPool.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            max_connections=max_connections,
            health_check_interval=0,
            protocol=2,  # flat RESP2 replies: the parsing below expects lists, not maps
        )
        self._scripts = {
            name: _Script(src)
            for name, src in [
                ("write", WRITE),
                ("read", READ),
                ("apply", APPLY_BATCH),
                ("ship", SHIP),
                ("ack", ACK),
                ("bucket", BUCKET_VERSIONS),
                ("collect", COLLECT_TOMBSTONES),
            ]
        }
        target = RespTarget.from_url(url)
        self._pipelined = (
            PipelinedConnection(target, connect_timeout_s=timeout_s, client_name=f"capstore-{self.node_id}")
            if target is not None
            else None
        )
        """Short commands share one pipelined connection; blocking ones (and TLS or unix-socket
        URLs, which it does not speak) use the redis-py pool."""
        self._waitaof: bool | None = None

    def __repr__(self) -> str:
        return f"RedisNode({self.node_id!r}, {self.url!r})"

    async def close(self) -> None:
        if self._pipelined is not None:
            self._pipelined.close()
        await self._pool.disconnect()

    # -- transport --------------------------------------------------------------------------------

    async def _through_breaker(self, fn: Callable[[], Awaitable[T]]) -> T:
        invoked = False

        async def guarded() -> T:
            nonlocal invoked
            invoked = True
            return await fn()

        try:
            return await self.breaker.call(guarded)
        except NodeError:
            raise
        except Exception as error:
            if not invoked:  # the breaker refused without trying
                raise NodeUnavailable(self.node_id, f"circuit breaker open ({error})", maybe_applied=False) from error
            raise

    async def _run(self, commands: Sequence[Sequence[Any]], read_timeout_s: float | None = None) -> list[Any]:
        return (await self._run_reporting_retry(commands, read_timeout_s))[0]

    async def _run_reporting_retry(
        self, commands: Sequence[Sequence[Any]], read_timeout_s: float | None = None
    ) -> tuple[list[Any], bool]:
        """One attempt (`_run_pipelined` or `_run_pooled`), retried once when the connection was closed
        under us (typically a pooled connection to a node that restarted). Every command capstore
        sends is idempotent (writes are version-guarded), so the retry is safe; if it fails too, the
        error keeps "maybe applied". Also says whether it retried: then the first attempt may have
        run, and a write the retry finds superseded may have been applied (and visible) before the
        newer one replaced it."""
        # short commands go straight to the shared pipelined connection (the hot path: every write)
        run = self._run_pipelined if read_timeout_s is None and self._pipelined is not None else self._run_pooled
        try:
            return await run(commands, read_timeout_s), False
        except NodeUnavailable as error:
            if not error.maybe_applied:
                raise
        try:
            return await run(commands, read_timeout_s), True
        except NodeError as error:
            error.maybe_applied = True
            raise

    async def _run_pooled(self, commands: Sequence[Sequence[Any]], read_timeout_s: float | None = None) -> list[Any]:
        """Send commands on one pooled redis-py connection and return their replies; error replies
        are returned as `ResponseError` instances so callers can handle NOSCRIPT and missing keys.
        `read_timeout_s` marks a blocking command (it bounds the reply instead of the network timeout)."""
        sent = False
        connection: AbstractConnection | None = None
        timeout = self.timeout_s if read_timeout_s is None else read_timeout_s
        try:
            async with asyncio.timeout(self.timeout_s + timeout) as deadline:  # connect + reply
                connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
                deadline.reschedule(asyncio.get_running_loop().time() + timeout)  # from here on: the reply
                sent = True
                await connection.send_packed_command(connection.pack_commands(commands))
                replies: list[Any] = []
                for _ in commands:
                    try:
                        # no per-read timeout: the asyncio.timeout around this block bounds every read
                        replies.append(await connection.read_response())
                    except redis_errors.ResponseError as error:
                        replies.append(error)
                return replies
        except BaseException as error:
            if connection is not None:  # a half-read reply would poison the next command
                await connection.disconnect(nowait=True)
            task = asyncio.current_task()
            if task is not None and task.cancelling() and not isinstance(error, asyncio.CancelledError):
                # A library under us turned our cancellation into a timeout or connection error
                # (a known race in timeout helpers): honour the cancellation, not the error.
                raise asyncio.CancelledError from error
            if isinstance(error, redis_errors.BusyLoadingError):  # rejected before running
                raise NodeUnavailable(self.node_id, "node is loading its dataset", maybe_applied=False) from error
            if isinstance(error, redis_errors.InvalidResponse):
                raise NodeUnavailable(self.node_id, f"protocol error: {error}", maybe_applied=sent) from error
            if isinstance(error, _TIMEOUT_ERRORS):
                raise NodeTimeout(self.node_id, f"no reply within {timeout}s", maybe_applied=sent) from error
            if isinstance(error, _CONNECTION_ERRORS):
                raise NodeUnavailable(self.node_id, f"connection failed: {error}", maybe_applied=sent) from error
            raise
        finally:
            if connection is not None:
                await self._pool.release(connection)

    async def _run_pipelined(self, commands: Sequence[Sequence[Any]], _: float | None = None) -> list[Any]:
        """`_run_pooled` on the shared pipelined connection (the same replies and errors)."""
        assert self._pipelined is not None
        try:
            replies = await self._pipelined.execute(commands, self.timeout_s)
        except RespError as error:
            if isinstance(error, TimeoutError):
                message = f"no reply within {self.timeout_s}s"
                raise NodeTimeout(self.node_id, message, maybe_applied=error.sent) from error
            raise NodeUnavailable(self.node_id, f"connection failed: {error}", maybe_applied=error.sent) from error
        for reply in replies:
            if isinstance(reply, redis_errors.BusyLoadingError):  # rejected before running
                raise NodeUnavailable(self.node_id, "node is loading its dataset", maybe_applied=False)
        return replies

    def _refusal(self, reply: Any) -> None:
        """Replies that mean the node refused to run the command (full, read-only)."""
        if isinstance(reply, (redis_errors.OutOfMemoryError, redis_errors.ReadOnlyError)):
            raise NodeUnavailable(self.node_id, f"refused: {reply}", maybe_applied=False)

    async def _call(self, *command: Any, read_timeout_s: float | None = None) -> Any:
        async def attempt() -> Any:
            (reply,) = await self._run([command], read_timeout_s)
            self._refusal(reply)
            if isinstance(reply, redis_errors.ResponseError):
                raise CapstoreError(f"node {self.node_id}: {command[0]} failed: {reply}")
            return reply

        return await self._through_breaker(attempt)

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return (await self._script_reporting_retry(name, keys, args))[0]

    async def _script_reporting_retry(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> tuple[Any, bool]:
        script = self._scripts[name]

        async def attempt() -> tuple[Any, bool]:
            (reply,), retried = await self._run_reporting_retry([("EVALSHA", script.sha, len(keys), *keys, *args)])
            if isinstance(reply, redis_errors.NoScriptError):
                # Not run (the node restarted and lost its script cache): safe to send the body.
                (reply,), again = await self._run_reporting_retry([("EVAL", script.source, len(keys), *keys, *args)])
                retried = retried or again
            self._refusal(reply)
            if isinstance(reply, redis_errors.ResponseError):
                raise CapstoreError(f"node {self.node_id}: script {name} failed: {reply}")
            return reply, retried

        return await self._through_breaker(attempt)

    # -- basic ------------------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._call("PING")

    async def server_version(self) -> tuple[int, ...]:
        info = _text(await self._call("INFO", "server"))
        for line in info.splitlines():
            if line.startswith("redis_version:"):
                return tuple(int(part) for part in line.split(":", 1)[1].strip().split(".") if part.isdigit())
        return (0,)

    # -- data -------------------------------------------------------------------------------------

    async def write(self, key: str, record: Record, *, log: bool = False, durable: bool = False) -> WriteResult:
        """Version-guarded write. `log` appends it to this node's replication log in the same step;
        `durable` also waits for the AOF fsync where Redis offers WAITAOF (>= 7.2)."""
        bucket = bucket_of(key)
        args = [
            key,
            record.value or "",
            record.version,
            "1" if record.deleted else "0",
            "1" if log else "0",
            self.max_log_len,
            bucket,
        ]
        keys = [KV + key, DIGEST, f"{BUCKET}{bucket}", LOG, TOMBSTONES]
        reply, retried = await self._script_reporting_retry("write", keys, args)
        status, version, log_id = reply[0].decode(), reply[1].decode(), reply[2].decode()
        if durable and status == "applied":
            await self._wait_aof()
        return WriteResult(status == "applied", version, log_id, ambiguous=retried and status != "applied")

    async def _wait_aof(self) -> None:
        if self._waitaof is None:
            self._waitaof = await self.server_version() >= (7, 2)
        if self._waitaof:
            local = await self._through_breaker(
                lambda: self._call_raw(("WAITAOF", 1, 0, int(self.timeout_s * 1000)), self.timeout_s)
            )
            if int(local[0]) < 1:
                raise NodeTimeout(self.node_id, "AOF fsync not confirmed in time", maybe_applied=True)

    async def read(self, key: str, cursor_origins: Sequence[str] = ()) -> tuple[Record | None, dict[str, str]]:
        """The key's record (None if never written) and this node's log cursors for `cursor_origins`."""
        reply = await self._script("read", [KV + key, *(CURSOR + origin for origin in cursor_origins)], [])
        exists, value, version, deleted = int(reply[0]), _text(reply[1]), _text(reply[2]), _text(reply[3])
        cursors = {origin: _text(cursor) for origin, cursor in zip(cursor_origins, reply[4:], strict=True)}
        if not exists:
            return None, cursors
        return Record(None if deleted == "1" else value, version), cursors

    async def cursor(self, origin: str) -> str:
        """How far this node has applied `origin`'s log ("0-0" if never)."""
        reply = await self._call("GET", CURSOR + origin)
        return _text(reply) if reply is not None else "0-0"

    # -- replication log --------------------------------------------------------------------------

    async def log_since(self, cursor: str, count: int) -> LogBatch:
        async def attempt() -> list[Any]:
            return await self._run([("XRANGE", LOG, f"({cursor}", "+", "COUNT", count), ("XINFO", "STREAM", LOG)])

        entries_reply, info_reply = await self._through_breaker(attempt)
        if isinstance(entries_reply, redis_errors.ResponseError):
            raise CapstoreError(f"node {self.node_id}: XRANGE failed: {entries_reply}")
        if isinstance(info_reply, redis_errors.ResponseError):
            return LogBatch([], "0-0", gap=False)  # no log yet
        info = {_text(info_reply[i]): info_reply[i + 1] for i in range(0, len(info_reply), 2)}
        entries = []
        for raw_id, raw_fields in entries_reply:
            fields = {_text(raw_fields[i]): _text(raw_fields[i + 1]) for i in range(0, len(raw_fields), 2)}
            record = Record(None if fields["del"] == "1" else fields["v"], fields["ver"])
            entries.append(LogEntry(_text(raw_id), fields["k"], record))
        deleted_up_to = _text(info.get("max-deleted-entry-id", b"0-0"))
        return LogBatch(entries, _text(info["last-generated-id"]), stream_id_key(deleted_up_to) > stream_id_key(cursor))

    async def wait_for_log(self, cursor: str, block_ms: int) -> bool:
        """Block until the log has an entry after `cursor` (True) or `block_ms` passes (False)."""
        reply = await self._through_breaker(
            lambda: self._call_raw(
                ("XREAD", "COUNT", 1, "BLOCK", block_ms, "STREAMS", LOG, cursor),
                block_ms / 1000 + self.timeout_s,
            )
        )
        return bool(reply)

    async def _call_raw(self, command: Sequence[Any], read_timeout_s: float) -> Any:
        (reply,) = await self._run([command], read_timeout_s)
        if isinstance(reply, redis_errors.ResponseError):
            raise CapstoreError(f"node {self.node_id}: {command[0]} failed: {reply}")
        return reply

    async def apply_batch(
        self, origin: str, entries: Sequence[LogEntry], new_cursor: str, *, expected_cursor: str = ""
    ) -> int:
        """Apply `origin`'s log entries (version-guarded) and move this node's cursor for it, atomically.

        With `expected_cursor` (the cursor the caller believes this node has), nothing is applied and
        -1 returned when the node's cursor is behind it: the node lost entries it had applied."""
        keys = [CURSOR + origin, DIGEST, TOMBSTONES]
        args: list[Any] = [new_cursor, expected_cursor]
        for entry in entries:
            bucket = bucket_of(entry.key)
            keys += [KV + entry.key, f"{BUCKET}{bucket}"]
            args += [
                entry.key,
                entry.record.value or "",
                entry.record.version,
                "1" if entry.record.deleted else "0",
                bucket,
            ]
        return int(await self._script("apply", keys, args))

    async def ship_since(self, cursor: str, count: int) -> ShippedBatch:
        """Up to `count` log entries after `cursor`, packed for `apply_shipped` on a peer (newest
        version of each key only); one round trip."""
        reply = await self._script("ship", [LOG], [cursor, count, KV, BUCKET, BUCKETS])
        last_id, gap, read, last_read, keys, args = reply
        return ShippedBatch(int(read), _text(last_read), _text(last_id), bool(gap), keys, args)

    async def apply_shipped(
        self, origin: str, batch: ShippedBatch, new_cursor: str, *, expected_cursor: str = ""
    ) -> int:
        """`apply_batch` for what `ship_since` packed on `origin`."""
        keys = [CURSOR + origin, DIGEST, TOMBSTONES, *batch.keys]
        return int(await self._script("apply", keys, [new_cursor, expected_cursor, *batch.args]))

    async def ack(self, peer: str, applied_id: str, peers: Sequence[str]) -> int:
        """Record that `peer` applied this node's log up to `applied_id`; trim what every peer has."""
        return int(await self._script("ack", [LOG, ACKED + peer, *(ACKED + p for p in peers)], [applied_id]))

    async def last_log_id(self) -> str:
        """The newest id this node's replication log ever generated ("0-0" if none)."""
        reply = (await self._through_breaker(lambda: self._run([("XINFO", "STREAM", LOG)])))[0]
        if isinstance(reply, redis_errors.ResponseError):
            return "0-0"  # no log yet
        info = {_text(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}
        return _text(info["last-generated-id"])

    # -- tombstones -------------------------------------------------------------------------------

    async def tombstones_before(self, physical_ms: int, limit: int = 1000) -> list[str]:
        """Keys whose tombstone was written (version time) at or before `physical_ms`, oldest first."""
        reply = await self._call("ZRANGEBYSCORE", TOMBSTONES, "-inf", physical_ms, "LIMIT", 0, limit)
        return [_text(key) for key in reply]

    async def collect_tombstones(self, tombstones: Sequence[tuple[str, str]]) -> int:
        """Remove each (key, version) if the node still holds exactly that tombstone; returns removed."""
        if not tombstones:
            return 0
        keys = [DIGEST, TOMBSTONES]
        args: list[Any] = []
        for key, version in tombstones:
            bucket = bucket_of(key)
            keys += [KV + key, f"{BUCKET}{bucket}"]
            args += [key, version, bucket]
        return int(await self._script("collect", keys, args))

    async def log_length(self) -> int:
        return int(await self._call("XLEN", LOG))

    # -- anti-entropy -----------------------------------------------------------------------------

    async def digests(self) -> dict[int, str]:
        reply = await self._call("HGETALL", DIGEST)
        return {int(_text(reply[i])): _text(reply[i + 1]) for i in range(0, len(reply), 2)}

    async def bucket_versions(self, bucket: int) -> dict[str, str]:
        reply = await self._script("bucket", [f"{BUCKET}{bucket}"], [KV])
        return {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}

    async def records(self, keys: Sequence[str]) -> dict[str, Record]:
        if not keys:
            return {}

        async def attempt() -> list[Any]:
            return await self._run([("HMGET", KV + key, "v", "ver", "del") for key in keys])

        replies = await self._through_breaker(attempt)
        out: dict[str, Record] = {}
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, redis_errors.ResponseError) or reply[1] is None:
                continue
            out[key] = Record(None if _text(reply[2]) == "1" else _text(reply[0]), _text(reply[1]))
        return out

    async def snapshot(self) -> dict[str, Record]:
        """Every record on the node (SCAN; for tests, drills and the demo's size)."""
        keys: list[str] = []
        cursor = "0"
        while True:
            cursor_raw, batch = await self._call("SCAN", cursor, "MATCH", KV + "*", "COUNT", 1000)
            keys += [_text(raw)[len(KV) :] for raw in batch]
            cursor = _text(cursor_raw)
            if cursor == "0":
                break
        return await self.records(sorted(set(keys)))

    # -- admin ------------------------------------------------------------------------------------

    async def info(self, section: str) -> str:
        return _text(await self._call("INFO", section))

    async def config_set(self, parameter: str, value: str) -> None:
        await self._call("CONFIG", "SET", parameter, value)

    # -- backups ----------------------------------------------------------------------------------

    async def bgsave(self, poll_s: float = 0.05, timeout_s: float = 60.0) -> int:
        """Start a BGSAVE and wait until it finished; returns the LASTSAVE unix time."""
        before = int(await self._call("LASTSAVE"))
        await self._call("BGSAVE")
        async with asyncio.timeout(timeout_s):
            while True:
                info = _text(await self._call("INFO", "persistence"))
                done = "rdb_bgsave_in_progress:0" in info
                last = int(await self._call("LASTSAVE"))
                if done and (last > before or "rdb_last_bgsave_status:ok" in info):
                    if "rdb_last_bgsave_status:ok" not in info:
                        raise CapstoreError(f"node {self.node_id}: BGSAVE failed")
                    return last
                await asyncio.sleep(poll_s)
