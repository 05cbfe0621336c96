"""Single-flight across the worker processes of one instance, without Redis.

Per process, servicekit's SingleFlight lets one caller per key through; that caller runs
`LocalFlight.run`. Processes meet at a lock file per key in a directory only this instance's workers
use: the first to `flock` it leads, the others block on the same lock in a thread and wake when the
kernel hands it over (no polling, unlike MapProxy's lock files). Every caller appends a byte to the
lock file before trying it, so the leader sees whether anyone else came: only then does it write its
outcome (the cache value, or the error) beside the lock before releasing it, and the waiters adopt
the tile without a second fetch, even when each worker has its own memory cache. A miss nobody
waited for costs a handful of syscalls on tmpfs and no write of the tile. A leader that dies releases
its lock with its file descriptors: the next waiter finds no outcome and takes over at once.

Lock files are unlinked by their leader while still held; a waiter that then wins the lock of an
unlinked file sees that its file is no longer the one at the path and starts over, so two processes
never lead the same key at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from servicekit import get_logger

from mapmap.errors import MapMapError, UpstreamTimeout
from mapmap.flight_outcome import describe_error, rebuild_error

__all__ = ["LocalFlight"]

log = get_logger("mapmap.local_flight")

T = TypeVar("T")

_TILE, _ERROR = b"T", b"E"


class LocalFlight:
    def __init__(
        self,
        directory: Path,
        *,
        wait_timeout: float = 30.0,
        keep_outcome_s: float = 5.0,
        threads: int = 32,
        on_waiting: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_private(directory)
        self._directory = str(directory)
        self.wait_timeout = wait_timeout
        self.keep_outcome_s = keep_outcome_s
        self.on_waiting = on_waiting
        # blocked flock() calls wait here, one per key a process waits on
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mapmap-flight")

    async def aclose(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def run(
        self,
        key: str,
        produce: Callable[[], Awaitable[tuple[T, bytes]]],
        adopt: Callable[[bytes], Awaitable[T]],
    ) -> T:
        """`produce` fetches and returns (result, its cache value); `adopt` turns another process's
        cache value into a result (and keeps it in this process's cache)."""
        base = f"{self._directory}/{hashlib.sha256(key.encode()).hexdigest()[:40]}"
        lock_path, outcome_path = base + ".lock", base + ".out"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        counted = False
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:  # a temp-directory cleaner removed the directory
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                continue
            with suppress(OSError):  # unregistered, a waiter may cost one more fetch, nothing else
                os.write(fd, b".")  # registered before trying: see `_hand_over`
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                waited = False
            except BlockingIOError:
                if not counted and self.on_waiting is not None:
                    self.on_waiting(key)
                counted = waited = True
                await self._wait_for_lock(fd, deadline - loop.time())  # closes fd if it gives up
            try:
                outcome = _read_outcome(outcome_path) if waited else None
                if outcome is not None:
                    kind, payload = outcome
                    if kind == _ERROR:
                        raise rebuild_error(json.loads(payload))
                    return await adopt(payload)
                if not _still_at(fd, lock_path):
                    continue  # its leader unlinked this lock file: start over on the current one
                return await self._lead(fd, lock_path, outcome_path, produce)
            finally:
                os.close(fd)  # releases the lock

    async def _lead(
        self, fd: int, lock_path: str, outcome_path: str, produce: Callable[[], Awaitable[tuple[T, bytes]]]
    ) -> T:
        try:
            result, value = await produce()
        except MapMapError as error:
            self._hand_over(fd, lock_path, outcome_path, _ERROR + json.dumps(describe_error(error)).encode())
            raise
        except BaseException:
            _unlink(lock_path)  # cancelled or crashed: waiters find no outcome and take over
            raise
        self._hand_over(fd, lock_path, outcome_path, _TILE + value)
        return result

    def _hand_over(self, fd: int, lock_path: str, outcome_path: str, data: bytes) -> None:
        """Unlink the lock path (arrivals from now on start a new flight), then write the outcome only
        if a request besides this one registered on the lock: a miss nobody waits for costs no write.
        A request that registers between its open and the check below is the one race left: it
        fetches again, as it would without this flight."""
        _unlink(lock_path)
        try:
            if os.fstat(fd).st_size <= 1:
                return
            temporary = f"{outcome_path}.{os.getpid()}.tmp"
            out = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(out, data)
                written = os.fstat(out).st_ino
            finally:
                os.close(out)
            os.replace(temporary, outcome_path)
        except OSError as error:  # a full disk costs the waiters a fetch each, nothing more
            log.warning("flight_outcome_not_written", error=str(error))
            return
        asyncio.get_running_loop().call_later(self.keep_outcome_s, _remove_if_same, outcome_path, written)

    async def _wait_for_lock(self, fd: int, limit_s: float) -> None:
        """Block (in a thread) until this process holds the lock on `fd`; on timeout or cancellation
        the descriptor is closed once the thread lets go of it, releasing whatever it got."""
        waiting = asyncio.get_running_loop().run_in_executor(self._threads, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), max(limit_s, 0.0))
        except BaseException as error:
            waiting.add_done_callback(lambda _: os.close(fd))
            if isinstance(error, TimeoutError):
                raise UpstreamTimeout(f"waited {self.wait_timeout:g}s for another worker to fetch this tile") from None
            raise


def _check_private(directory: Path) -> None:
    """Another local user who could write here could hand this instance forged tiles."""
    status = os.lstat(directory)
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise PermissionError(f"{directory} must be a directory of this user only (mode 700), not a link")


def _read_outcome(path: str) -> tuple[bytes, bytes] | None:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return None
    if not data or data[:1] not in (_TILE, _ERROR):
        return None
    return data[:1], data[1:]


def _still_at(fd: int, path: str) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _unlink(path: str) -> None:
    # metadata operations on a local (usually in-memory) directory: microseconds, not worth a thread
    with suppress(FileNotFoundError):
        os.unlink(path)


def _remove_if_same(path: str, inode: int) -> None:
    with suppress(FileNotFoundError):
        if os.stat(path).st_ino == inode:
            os.unlink(path)
