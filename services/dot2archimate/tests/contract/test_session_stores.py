"""One contract for every session store: the file store and the Redis store (a real redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dot2archimate.web.errors import StorageUnavailableError
from dot2archimate.web.sessions import (
    FileSessionStore,
    GuardedStore,
    RedisSessionStore,
    SessionData,
    new_result_id,
    new_session_id,
)


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    stores: list[Any] = []

    def make(ttl: int = 3600) -> Any:
        if request.param == "file":
            store: Any = FileSessionStore(tmp_path / "sessions", ttl)
        else:
            import redis.asyncio as redis

            server = request.getfixturevalue("redis_server")
            store = RedisSessionStore(redis.Redis.from_url(server.url), ttl)
        stores.append(store)
        return store

    yield make
    for s in stores:
        await s.close()


async def test_round_trip_and_files(make_store: Any) -> None:
    store = make_store()
    sid, rid = new_session_id(), new_result_id()
    assert await store.load(sid) is None  # a fresh id has nothing stored
    await store.put_files(sid, rid, {"model.xml": b"<model/>", "view-0.svg": b"<svg/>"})
    await store.save(SessionData(sid, results=[{"id": rid, "name": "a.dot"}]))
    loaded = await store.load(sid)
    assert loaded is not None
    assert loaded.result(rid) == {"id": rid, "name": "a.dot"}
    assert await store.get_file(sid, rid, "model.xml") == b"<model/>"
    assert await store.get_file(sid, rid, "report.json") is None
    assert await store.get_file(sid, new_result_id(), "model.xml") is None
    assert (await store.check())["backend"] in ("file", "redis")
    assert store.liveness() is True


async def test_sessions_are_isolated(make_store: Any) -> None:
    store = make_store()
    alice, bob, rid = new_session_id(), new_session_id(), new_result_id()
    await store.put_files(alice, rid, {"model.xml": b"alice"})
    await store.save(SessionData(alice, results=[{"id": rid}]))
    assert await store.load(bob) is None
    assert await store.get_file(bob, rid, "model.xml") is None  # same result id, other session: nothing
    await store.put_files(bob, rid, {"model.xml": b"bob"})
    assert await store.get_file(alice, rid, "model.xml") == b"alice"
    assert await store.get_file(bob, rid, "model.xml") == b"bob"


async def test_drop_result_and_delete(make_store: Any) -> None:
    store = make_store()
    sid, keep, drop = new_session_id(), new_result_id(), new_result_id()
    await store.put_files(sid, keep, {"model.xml": b"k"})
    await store.put_files(sid, drop, {"model.xml": b"d", "report.json": b"{}"})
    await store.save(SessionData(sid, results=[{"id": keep}]))
    await store.drop_result(sid, drop)
    assert await store.get_file(sid, drop, "model.xml") is None
    assert await store.get_file(sid, drop, "report.json") is None
    assert await store.get_file(sid, keep, "model.xml") == b"k"
    await store.delete(sid)
    assert await store.load(sid) is None
    assert await store.get_file(sid, keep, "model.xml") is None


async def test_sessions_expire_after_ttl_of_inactivity(make_store: Any) -> None:
    store = make_store(ttl=1)
    sid, rid = new_session_id(), new_result_id()
    await store.put_files(sid, rid, {"model.xml": b"x"})
    await store.save(SessionData(sid, results=[{"id": rid}]))
    await asyncio.sleep(0.6)
    assert await store.load(sid) is not None  # use refreshes the expiry
    await asyncio.sleep(0.6)
    assert await store.load(sid) is not None
    await asyncio.sleep(1.3)
    assert await store.load(sid) is None
    assert await store.get_file(sid, rid, "model.xml") is None


@pytest.mark.parametrize(
    ("sid", "rid", "name"),
    [
        ("../../../../etc/passwd" + "x" * 10, "0123456789abcdef", "model.xml"),
        ("A" * 32, "../0123456789abc", "model.xml"),
        ("A" * 32, "0123456789abcdef", "../session.json"),
        ("A" * 32, "0123456789abcdef", "x/y.xml"),
        ("A" * 31 + "/", "0123456789abcdef", "model.xml"),
    ],
)
async def test_ids_that_could_be_paths_are_refused(make_store: Any, sid: str, rid: str, name: str) -> None:
    store = make_store()
    with pytest.raises(ValueError, match="invalid"):
        await store.put_files(sid, rid, {name: b"x"})
    with pytest.raises(ValueError, match="invalid"):
        await store.get_file(sid, rid, name)


async def test_a_record_cannot_claim_another_session(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "s", 3600)
    alice, bob = new_session_id(), new_session_id()
    await store.save(SessionData(alice))
    (tmp_path / "s" / bob).mkdir()
    (tmp_path / "s" / bob / "session.json").write_bytes(SessionData(alice).to_json())  # planted record
    assert await store.load(bob) is None


def test_file_store_sweeps_expired_sessions(tmp_path: Path) -> None:
    import os
    import time

    store = FileSessionStore(tmp_path / "s", 60)
    old, fresh = new_session_id(), new_session_id()
    for sid in (old, fresh):
        (tmp_path / "s" / sid).mkdir()
        (tmp_path / "s" / sid / "session.json").write_bytes(SessionData(sid).to_json())
    past = time.time() - 120
    os.utime(tmp_path / "s" / old / "session.json", (past, past))
    (tmp_path / "s" / "not-a-session").mkdir()  # never touched: not ours
    assert store.sweep() == 1
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted([fresh, "not-a-session"])


@pytest.mark.redis
async def test_redis_down_is_a_typed_503_and_liveness_reports_it(redis_server: Any) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    store = GuardedStore(RedisSessionStore(client, 60))
    sid = new_session_id()
    await store.save(SessionData(sid))
    redis_server.kill()
    with pytest.raises(StorageUnavailableError, match="session storage is unavailable"):
        await store.load(sid)
    assert store.liveness() is False
    await store.close()
