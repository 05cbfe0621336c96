"""Per-browser sessions: a signed random id in a cookie, everything else on the server.

The cookie carries only `<sid>.<hmac>`; a session's data (its CSRF token is derived, not stored)
and its conversion outputs live in files under DATA_DIR or in Redis, expire after SESSION_TTL of
inactivity, and are addressed only by server-generated names: a session id, a result id and a
fixed file name, each checked against a strict pattern before it becomes a path or a key.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from .errors import StorageUnavailableError

__all__ = [
    "FileSessionStore",
    "GuardedStore",
    "RedisSessionStore",
    "SessionData",
    "SessionSigner",
    "SessionStore",
    "new_result_id",
    "new_session_id",
]

_SID = re.compile(r"^[A-Za-z0-9_-]{32}$")
_RID = re.compile(r"^[0-9a-f]{16}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}(\.[a-z0-9]{1,10})?$")


def new_session_id() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def new_result_id() -> str:
    return secrets.token_hex(8)


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode()


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"invalid {what}")  # internal misuse: callers only pass ids they generated/verified
    return value


class SessionSigner:
    """HMAC-SHA256 over the session id, with keys derived per purpose from SECRET_KEY."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._cookie_key = hashlib.sha256(b"dot2archimate/session-cookie\0" + secret).digest()
        self._csrf_key = hashlib.sha256(b"dot2archimate/csrf\0" + secret).digest()

    @staticmethod
    def _mac(key: bytes, text: str) -> str:
        digest = hmac.new(key, text.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, sid: str) -> str:
        return f"{_check(_SID, sid, 'session id')}.{self._mac(self._cookie_key, sid)}"

    def unsign(self, value: str | None) -> str | None:
        """The session id in a cookie value, or None if it is malformed or not signed by us."""
        if not value or len(value) > 100:
            return None
        sid, _, mac = value.partition(".")
        if not _SID.fullmatch(sid):
            return None
        return sid if hmac.compare_digest(mac, self._mac(self._cookie_key, sid)) else None

    def csrf_token(self, sid: str) -> str:
        """This session's CSRF token (per session, unguessable without SECRET_KEY)."""
        return self._mac(self._csrf_key, _check(_SID, sid, "session id"))

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(sid))


@dataclass
class SessionData:
    """What the server remembers about one browser: its conversions, newest first."""

    sid: str
    results: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def result(self, rid: str) -> dict[str, Any] | None:
        return next((r for r in self.results if r.get("id") == rid), None)

    def to_json(self) -> bytes:
        return json.dumps({"sid": self.sid, "results": self.results, "created": self.created}).encode()

    @classmethod
    def from_json(cls, sid: str, raw: bytes) -> SessionData:
        doc = json.loads(raw)
        if doc.get("sid") != sid:  # a file/key can only ever describe its own session
            raise ValueError("session record does not belong to this session")
        return cls(sid=sid, results=list(doc.get("results") or []), created=float(doc.get("created") or 0))


class SessionStore(Protocol):
    """Server-side session storage. Every method takes ids the caller got from this module."""

    async def load(self, sid: str) -> SessionData | None: ...
    async def save(self, data: SessionData) -> None: ...
    async def put_files(self, sid: str, rid: str, files: dict[str, bytes]) -> None: ...
    async def get_file(self, sid: str, rid: str, name: str) -> bytes | None: ...
    async def drop_result(self, sid: str, rid: str) -> None: ...
    async def delete(self, sid: str) -> None: ...
    async def check(self) -> dict[str, Any]: ...
    def liveness(self) -> bool: ...
    async def close(self) -> None: ...


class FileSessionStore:
    """Sessions as folders under `root`: `<sid>/session.json` and `<sid>/<rid>/<name>`."""

    SWEEP_EVERY = 60.0

    def __init__(self, root: Path, ttl: int) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self._last_sweep = 0.0
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, sid: str) -> Path:
        return self.root / _check(_SID, sid, "session id")

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # readers see the old or the new file, never half of one

    def _expired(self, folder: Path, now: float) -> bool:
        try:
            return now - (folder / "session.json").stat().st_mtime > self.ttl
        except FileNotFoundError:
            try:  # outputs written but no record yet (or a crash between): judge by the folder
                return now - folder.stat().st_mtime > self.ttl
            except FileNotFoundError:
                return False

    def _load(self, sid: str) -> SessionData | None:
        folder = self._dir(sid)
        record = folder / "session.json"
        if self._expired(folder, time.time()):
            shutil.rmtree(folder, ignore_errors=True)
            return None
        try:
            data = SessionData.from_json(sid, record.read_bytes())
        except FileNotFoundError:
            return None
        except (ValueError, json.JSONDecodeError):
            shutil.rmtree(folder, ignore_errors=True)
            return None
        os.utime(record)  # sliding expiry: last use counts
        return data

    async def load(self, sid: str) -> SessionData | None:
        return await asyncio.to_thread(self._load, sid)

    async def save(self, data: SessionData) -> None:
        await asyncio.to_thread(self._write, self._dir(data.sid) / "session.json", data.to_json())
        if time.monotonic() - self._last_sweep > self.SWEEP_EVERY:
            self._last_sweep = time.monotonic()
            await asyncio.to_thread(self.sweep)

    def _put(self, sid: str, rid: str, files: dict[str, bytes]) -> None:
        folder = self._dir(sid) / _check(_RID, rid, "result id")
        for name, content in files.items():
            self._write(folder / _check(_NAME, name, "file name"), content)

    async def put_files(self, sid: str, rid: str, files: dict[str, bytes]) -> None:
        await asyncio.to_thread(self._put, sid, rid, files)

    def _get(self, sid: str, rid: str, name: str) -> bytes | None:
        path = self._dir(sid) / _check(_RID, rid, "result id") / _check(_NAME, name, "file name")
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    async def get_file(self, sid: str, rid: str, name: str) -> bytes | None:
        return await asyncio.to_thread(self._get, sid, rid, name)

    async def drop_result(self, sid: str, rid: str) -> None:
        folder = self._dir(sid) / _check(_RID, rid, "result id")
        await asyncio.to_thread(shutil.rmtree, folder, True)

    async def delete(self, sid: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir(sid), True)

    def sweep(self) -> int:
        """Delete expired sessions; returns how many."""
        now = time.time()
        removed = 0
        for folder in self.root.iterdir():
            if folder.is_dir() and _SID.fullmatch(folder.name) and self._expired(folder, now):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def _probe(self) -> None:
        probe = self.root / f".probe-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"ok")
        probe.unlink()

    async def check(self) -> dict[str, Any]:
        await asyncio.to_thread(self._probe)
        return {"backend": "file"}

    def liveness(self) -> bool:
        try:
            self._probe()
        except OSError:
            return False
        return True

    async def close(self) -> None:
        return None


class RedisSessionStore:
    """Sessions in Redis: one JSON record and one key per output file, all expiring together."""

    def __init__(self, client: redis.Redis, ttl: int, prefix: str = "d2a") -> None:
        self.client = client
        self.ttl = ttl
        self.prefix = prefix
        self._alive = True

    def _key(self, sid: str) -> str:
        return f"{self.prefix}:session:{_check(_SID, sid, 'session id')}"

    def _file_key(self, sid: str, rid: str, name: str) -> str:
        _check(_SID, sid, "session id")
        return f"{self.prefix}:file:{sid}:{_check(_RID, rid, 'result id')}:{_check(_NAME, name, 'file name')}"

    def _files_index(self, sid: str) -> str:
        return f"{self.prefix}:files:{_check(_SID, sid, 'session id')}"

    async def load(self, sid: str) -> SessionData | None:
        raw = await self.client.get(self._key(sid))
        if raw is None:
            return None
        try:
            data = SessionData.from_json(sid, _bytes(raw))
        except (ValueError, json.JSONDecodeError):
            await self.delete(sid)
            return None
        await self._touch(sid)
        return data

    async def _touch(self, sid: str) -> None:
        # sliding expiry for the record, the file index and every file it lists
        keys = [self._key(sid), self._files_index(sid)]
        keys += [_text(k) for k in await self.client.smembers(self._files_index(sid))]
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.expire(key, self.ttl)
            await pipe.execute()

    async def save(self, data: SessionData) -> None:
        await self.client.set(self._key(data.sid), data.to_json(), ex=self.ttl)
        await self._touch(data.sid)

    async def put_files(self, sid: str, rid: str, files: dict[str, bytes]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for name, content in files.items():
                key = self._file_key(sid, rid, name)
                pipe.set(key, content, ex=self.ttl)
                pipe.sadd(self._files_index(sid), key)
            pipe.expire(self._files_index(sid), self.ttl)
            await pipe.execute()

    async def get_file(self, sid: str, rid: str, name: str) -> bytes | None:
        value = await self.client.get(self._file_key(sid, rid, name))
        return _bytes(value) if value is not None else None

    async def drop_result(self, sid: str, rid: str) -> None:
        prefix = f"{self.prefix}:file:{_check(_SID, sid, 'session id')}:{_check(_RID, rid, 'result id')}:"
        members = [_text(m) for m in await self.client.smembers(self._files_index(sid))]
        doomed = [m for m in members if m.startswith(prefix)]
        if doomed:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(*doomed)
                pipe.srem(self._files_index(sid), *doomed)
                await pipe.execute()

    async def delete(self, sid: str) -> None:
        members = [_text(m) for m in await self.client.smembers(self._files_index(sid))]
        await self.client.delete(self._key(sid), self._files_index(sid), *members)

    async def check(self) -> dict[str, Any]:
        try:
            await self.client.ping()
        except Exception:
            self._alive = False
            raise
        self._alive = True
        return {"backend": "redis"}

    def liveness(self) -> bool:
        return self._alive  # last readiness result: liveness must not wait on the network

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.aclose()


class GuardedStore:
    """Any store, with its backend failures (Redis down, disk full) turned into one typed 503 error."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except (RedisError, OSError) as exc:
            if isinstance(self.inner, RedisSessionStore):
                self.inner._alive = False
            raise StorageUnavailableError(f"session storage is unavailable ({what}): {type(exc).__name__}") from None

    async def load(self, sid: str) -> SessionData | None:
        async with self._guard("load"):
            return await self.inner.load(sid)

    async def save(self, data: SessionData) -> None:
        async with self._guard("save"):
            await self.inner.save(data)

    async def put_files(self, sid: str, rid: str, files: dict[str, bytes]) -> None:
        async with self._guard("write"):
            await self.inner.put_files(sid, rid, files)

    async def get_file(self, sid: str, rid: str, name: str) -> bytes | None:
        async with self._guard("read"):
            return await self.inner.get_file(sid, rid, name)

    async def drop_result(self, sid: str, rid: str) -> None:
        async with self._guard("delete"):
            await self.inner.drop_result(sid, rid)

    async def delete(self, sid: str) -> None:
        async with self._guard("delete"):
            await self.inner.delete(sid)

    async def check(self) -> dict[str, Any]:
        return await self.inner.check()

    def liveness(self) -> bool:
        return self.inner.liveness()

    async def close(self) -> None:
        await self.inner.close()
