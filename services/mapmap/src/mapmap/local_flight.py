"""Single-flight across the worker processes of one instance, without Redis.

Per process, servicekit's SingleFlight lets one caller per key through; that caller runs
`LocalFlight.run`. Processes meet at a lock file per key in a directory only this instance's workers
use: the first to `flock` it leads, the others block on the same lock in a thread and wake when the
kernel hands it over (no polling, unlike MapProxy's lock files). The leader writes its outcome (the
cache value, or the error) next to the lock before releasing it, so the waiters adopt the tile
without a second fetch, even when each worker has its own memory cache. A leader that dies releases
its lock with its file descriptors: the next waiter finds no outcome and takes over.

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
import time
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
_RECENT_S = 2.0
"""An outcome this fresh is adopted even by a process that did not wait for it (it arrived just after
the fetch ended); older outcome files are left for their writer to delete."""


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
        name = hashlib.sha256(key.encode()).hexdigest()[:40]
        lock_path, outcome_path = self.directory / f"{name}.lock", self.directory / f"{name}.out"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        counted = False
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:  # a temp-directory cleaner removed it
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                waited = False
            except BlockingIOError:
                if not counted and self.on_waiting is not None:
                    self.on_waiting(key)
                counted = waited = True
                await self._wait_for_lock(fd, deadline - loop.time())  # closes fd if it gives up
            try:
                outcome = _read_outcome(outcome_path, any_age=waited)
                if outcome is not None:
                    kind, payload = outcome
                    if kind == _ERROR:
                        raise rebuild_error(json.loads(payload))
                    return await adopt(payload)
                if not _still_at(fd, lock_path):
                    continue  # its leader unlinked this lock file: start over on the current one
                return await self._lead(lock_path, outcome_path, produce)
            finally:
                os.close(fd)  # releases the lock

    async def _lead(self, lock_path: Path, outcome_path: Path, produce: Callable[[], Awaitable[tuple[T, bytes]]]) -> T:
        _unlink(outcome_path)  # an older outcome must not pass for this fetch's
        try:
            result, value = await produce()
        except MapMapError as error:
            self._write_outcome(outcome_path, _ERROR + json.dumps(describe_error(error)).encode())
            raise
        except BaseException:
            _unlink(lock_path)  # cancelled or crashed: waiters find no outcome and take over
            raise
        self._write_outcome(outcome_path, _TILE + value)
        return result

    def _write_outcome(self, path: Path, data: bytes) -> None:
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
            written = path.stat().st_ino
        except OSError as error:  # a full disk costs the waiters a fetch each, nothing more
            log.warning("flight_outcome_not_written", error=str(error))
            return
        finally:
            with suppress(FileNotFoundError):
                temporary.unlink()
            with suppress(FileNotFoundError):
                path.with_suffix(".lock").unlink()  # while still held: see the module docstring
        asyncio.get_running_loop().call_later(self.keep_outcome_s, _remove_if_same, path, written)

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


def _read_outcome(path: Path, *, any_age: bool) -> tuple[bytes, bytes] | None:
    try:
        if not any_age and time.time() - path.stat().st_mtime > _RECENT_S:
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data or data[:1] not in (_TILE, _ERROR):
        return None
    return data[:1], data[1:]


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _unlink(path: Path) -> None:
    # metadata operations on a local (usually in-memory) directory: microseconds, not worth a thread
    with suppress(FileNotFoundError):
        path.unlink()


def _remove_if_same(path: Path, inode: int) -> None:
    with suppress(FileNotFoundError):
        if path.stat().st_ino == inode:
            path.unlink()
