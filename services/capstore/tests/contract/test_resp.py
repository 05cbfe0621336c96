"""The pipelined RESP connection against real redis-server processes: order, errors, faults."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from capstore.resp import NotSent, PipelinedConnection, ReplyLost, ReplyTimeout, RespTarget
from redis import exceptions as redis_errors

pytestmark = pytest.mark.redis


def connection(url: str, timeout_s: float = 1.0) -> PipelinedConnection:
    target = RespTarget.from_url(url)
    assert target is not None
    return PipelinedConnection(target, connect_timeout_s=timeout_s)


def test_targets_from_urls() -> None:
    assert RespTarget.from_url("redis://10.0.0.5:6380/3") == RespTarget("10.0.0.5", 6380, 3)
    assert RespTarget.from_url("redis://:p%40ss@h/0") == RespTarget("h", 6379, 0, None, "p@ss")
    assert RespTarget.from_url("redis://user:pw@h:1/2") == RespTarget("h", 1, 2, "user", "pw")
    # what it does not speak goes to redis-py's pool instead
    assert RespTarget.from_url("rediss://h:6380/0") is None
    assert RespTarget.from_url("unix:///tmp/redis.sock") is None


async def test_concurrent_callers_get_their_own_replies_in_one_connection(redis_server: Any) -> None:
    conn = connection(redis_server.url)
    try:

        async def caller(n: int) -> None:
            replies = await conn.execute([("SET", f"k{n}", f"v{n}"), ("GET", f"k{n}"), ("INCR", "count")], 1.0)
            assert replies[0] == b"OK"
            assert replies[1] == f"v{n}".encode()
            assert isinstance(replies[2], int)

        await asyncio.gather(*(caller(n) for n in range(500)))
        assert await conn.execute([("GET", "count")], 1.0) == [b"500"]
        clients = (await conn.execute([("CLIENT", "LIST")], 1.0))[0].decode().strip().splitlines()
        assert len(clients) == 1  # everything went through one connection
    finally:
        conn.close()


async def test_a_lone_command_is_written_at_once_and_a_burst_together(redis_server: Any) -> None:
    conn = connection(redis_server.url)
    try:
        await conn.execute([("PING",)], 1.0)  # connected
        protocol = conn._protocol
        assert protocol is not None
        real = protocol.transport
        assert real is not None
        writes: list[bytes] = []

        class Recording:
            def write(self, data: bytes) -> None:
                writes.append(data)
                real.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        protocol.transport = Recording()  # type: ignore[assignment]
        lone = asyncio.ensure_future(conn.execute([("SET", "a", "1")], 1.0))
        await asyncio.sleep(0)  # the caller runs up to its wait for the reply
        assert len(writes) == 1  # on the wire before this loop iteration ends
        assert await lone == [b"OK"]
        writes.clear()
        # callers that find commands in flight are written together at the end of the iteration
        burst = await asyncio.gather(*(conn.execute([("INCR", "n")], 1.0) for _ in range(10)))
        assert sorted(reply for (reply,) in burst) == list(range(1, 11))
        assert len(writes) == 2  # the first at once, the other nine in one write
        assert writes[1].count(b"INCR") == 9
    finally:
        conn.close()


async def test_error_replies_are_typed_like_redis_py_and_do_not_break_the_stream(redis_server: Any) -> None:
    conn = connection(redis_server.url)
    try:
        replies = await conn.execute([("EVALSHA", "0" * 40, 0), ("INCR", "not-a-number-key"), ("PING",)], 1.0)
        assert isinstance(replies[0], redis_errors.NoScriptError)
        assert replies[1] == 1
        assert replies[2] == b"PONG"
        await conn.execute([("SET", "text", "abc")], 1.0)
        (wrong,) = await conn.execute([("INCR", "text")], 1.0)
        assert type(wrong) is redis_errors.ResponseError
        assert "not an integer" in str(wrong)
    finally:
        conn.close()


async def test_database_and_password_from_the_url(redis_server_factory: Any) -> None:
    server = redis_server_factory("secured", extra_args=("--requirepass", "s3cret"))
    port = server.url.split(":")[-1].split("/")[0]
    conn = connection(f"redis://:s3cret@127.0.0.1:{port}/4")
    try:
        (info,) = await conn.execute([("CLIENT", "INFO")], 1.0)
        assert b" db=4 " in info
    finally:
        conn.close()
    wrong = connection(f"redis://:wrong@127.0.0.1:{port}/0")
    with pytest.raises(NotSent, match="handshake refused"):
        await wrong.execute([("PING",)], 1.0)


async def test_a_cancelled_caller_leaves_the_stream_in_step(redis_server: Any) -> None:
    conn = connection(redis_server.url)
    try:
        # BLPOP holds the connection for 0.2 s (blocking commands do not belong here otherwise)
        slow = asyncio.create_task(conn.execute([("BLPOP", "nothing", "0.2"), ("SET", "after", "1")], 5.0))
        await asyncio.sleep(0.05)
        slow.cancel()
        # queued behind the cancelled call: must get its own reply, not the cancelled one's
        assert await conn.execute([("GET", "after")], 5.0) == [b"1"]
    finally:
        conn.close()


async def test_node_down_means_not_sent(redis_server: Any) -> None:
    conn = connection(redis_server.url, timeout_s=0.5)
    redis_server.stop()
    with pytest.raises(NotSent) as caught:
        await conn.execute([("PING",)], 0.5)
    assert caught.value.sent is False


async def test_a_frozen_node_times_out_and_a_thawed_one_answers_on_a_new_connection(redis_server: Any) -> None:
    conn = connection(redis_server.url, timeout_s=0.5)
    pid = redis_server.process.pid
    try:
        assert await conn.execute([("PING",)], 0.5) == [b"PONG"]
        os.kill(pid, signal.SIGSTOP)
        try:
            started = asyncio.get_running_loop().time()
            results = await asyncio.gather(
                *(conn.execute([("SET", f"frozen{n}", "x")], 0.3) for n in range(5)), return_exceptions=True
            )
            waited = asyncio.get_running_loop().time() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert all(isinstance(result, ReplyTimeout) and result.sent for result in results), results
        assert 0.25 <= waited < 2.0  # one timer for all: they fail together, at their deadline
        # a late reply would be matched to the wrong caller: the connection was dropped, a new one answers
        assert await conn.execute([("PING",)], 1.0) == [b"PONG"]
    finally:
        conn.close()


async def test_a_dropped_idle_connection_is_replaced_on_the_next_command(redis_server: Any) -> None:
    conn, killer = connection(redis_server.url), connection(redis_server.url)
    try:
        assert await conn.execute([("SET", "k", "1")], 1.0) == [b"OK"]
        (first_id,) = await conn.execute([("CLIENT", "ID")], 1.0)
        assert await killer.execute([("CLIENT", "KILL", "ID", first_id)], 1.0) == [1]
        await asyncio.sleep(0.05)
        assert await conn.execute([("GET", "k")], 1.0) == [b"1"]
        (second_id,) = await conn.execute([("CLIENT", "ID")], 1.0)
        assert second_id != first_id
    finally:
        conn.close()
        killer.close()


async def test_loss_after_the_write_means_the_outcome_is_unknown(redis_server: Any) -> None:
    conn = connection(redis_server.url, timeout_s=0.5)
    try:
        (own_id,) = await conn.execute([("CLIENT", "ID")], 1.0)
        # the node closes the connection while these commands are in flight
        with pytest.raises(ReplyLost) as caught:
            await conn.execute([("CLIENT", "KILL", "ID", own_id, "SKIPME", "no"), ("PING",)], 1.0)
        assert caught.value.sent is True
        assert await conn.execute([("PING",)], 1.0) == [b"PONG"]
    finally:
        conn.close()
