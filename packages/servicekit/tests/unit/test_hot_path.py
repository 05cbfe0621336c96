"""The cheap hot paths keep the behaviour of what they replaced: the in-process sliding window counts
like `limits`, the buffered request log writes the same JSON lines (masked, with the request id),
and response headers from inner layers reach the client with or without the collecting layer."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
import structlog
from limits import parse
from servicekit.asgi import Message, Scope, send_json
from servicekit.clientip import TrustedProxies
from servicekit.logbuffer import FLUSH_INTERVAL, MAX_BATCH, BufferedJsonLines
from servicekit.middleware import (
    AccessLogMiddleware,
    RateLimiter,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostsMiddleware,
    annotate_access_line,
)
from servicekit.middleware.local_window import LocalSlidingWindow


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sliding_window_weights_the_previous_window_like_limits() -> None:
    clock = Clock(6_000.0)  # a window boundary for 60 s windows
    window = LocalSlidingWindow([parse("10/minute")], clock=clock)
    for expected_remaining in range(9, -1, -1):
        allowed, _, remaining, _ = window.hit("a")
        assert allowed
        assert remaining == expected_remaining
    assert window.hit("a")[0] is False  # 11th in the same window
    clock.now += 60 + 15  # a quarter into the next window: 10 * 0.75 = 7.5 still count
    allowed, _, remaining, reset_at = window.hit("a")
    assert allowed  # floor(7.5) + 1 = 8 <= 10
    assert remaining == 2  # 10 - floor(7.5 + 1)
    # limits' reset: the previous window's share decays one hit every 60/10 s -> 45 % 6 = 3 s
    assert reset_at == pytest.approx(clock.now + 3.0)
    assert window.hit("a")[0] is True  # floor(7.5 + 1) + 1 = 9 <= 10
    assert window.hit("a")[0] is True  # floor(7.5 + 2) + 1 = 10 <= 10
    assert window.hit("a")[0] is False
    clock.now += 120  # two windows later nothing counts
    assert window.hit("a")[2] == 9


def test_sliding_window_checks_every_limit_and_reports_the_tightest() -> None:
    clock = Clock(36_000.0)
    window = LocalSlidingWindow([parse("100/minute"), parse("3/hour")], clock=clock)
    assert [window.hit("b")[2] for _ in range(3)] == [2, 1, 0]  # the hourly limit is tighter
    allowed, position, _, _ = window.hit("b")
    assert not allowed
    assert position == 1


def test_idle_clients_are_swept_so_memory_stays_bounded() -> None:
    clock = Clock(1_000.0)
    window = LocalSlidingWindow([parse("5/second")], clock=clock)
    for client in range(1000):
        window.hit(f"10.0.{client // 256}.{client % 256}")
    assert window.tracked_keys() == 1000
    clock.now += 3
    window.hit("198.51.100.9")
    assert window.tracked_keys() == 1


async def test_memory_limiter_takes_the_in_process_path_with_the_same_verdicts() -> None:
    limiter = RateLimiter(["2/minute"], "memory://")
    assert limiter.local is not None
    verdicts = [await limiter.hit("c") for _ in range(3)]
    assert [(v.allowed, v.remaining, v.limit.amount) for v in verdicts] == [(True, 1, 2), (True, 0, 2), (False, 0, 2)]


def _sink(stream: io.BytesIO, secret: str = "") -> BufferedJsonLines:
    sink = BufferedJsonLines()
    sink.configure(stream, service="unit", secret_values=[secret] if secret else [],
                   is_secret_key=lambda key: "token" in key)  # fmt: skip
    return sink


async def test_buffered_lines_are_written_shortly_after_with_every_field_and_masked() -> None:
    stream = io.BytesIO()
    secret = "s3cr3t-value-that-must-not-leak"
    sink = _sink(stream, secret)
    with structlog.contextvars.bound_contextvars(request_id="req-7"):
        sink.emit("servicekit.access", "request", structlog.contextvars.get_contextvars(),
                  {"path": f"/x/{secret}", "status": 200, "api_token": "abc"})  # fmt: skip
    assert stream.getvalue() == b""  # the request path only queued it
    await asyncio.sleep(FLUSH_INTERVAL * 3)
    line = json.loads(stream.getvalue())
    assert line["event"] == "request"
    assert line["request_id"] == "req-7"
    assert line["service"] == "unit"
    assert line["logger"] == "servicekit.access"
    assert line["level"] == "info"
    assert line["status"] == 200
    assert line["path"] == "/x/**********"
    assert line["api_token"] == "**********"
    assert line["timestamp"].endswith("Z")
    assert line["timestamp"][10] == "T"


def test_buffered_lines_flush_at_once_without_a_loop_and_when_a_batch_is_full() -> None:
    stream = io.BytesIO()
    sink = _sink(stream)
    sink.emit("w", "write", None, {"n": 1})
    assert json.loads(stream.getvalue())["n"] == 1  # no running loop: written at once

    async def burst() -> int:
        for n in range(MAX_BATCH):
            sink.emit("w", "write", None, {"n": n})
        return stream.getvalue().count(b"\n")

    assert asyncio.run(burst()) == 1 + MAX_BATCH  # a full batch does not wait for the timer


async def test_an_annotated_request_logs_one_line_with_the_event_and_the_request_fields() -> None:
    stream = io.BytesIO()
    later: list[asyncio.Task[bool]] = []

    async def audited(scope: Scope, receive: Any, send: Any) -> None:
        assert annotate_access_line("WRITE", key="k1", version="v9", status=999)
        assert not annotate_access_line("WRITE", key="twice")  # one event per line: log the second yourself

        async def after_the_response() -> bool:
            await asyncio.sleep(0.01)
            return annotate_access_line("LATE", key="k2")

        later.append(asyncio.create_task(after_the_response()))
        await send_json(send, 201, {})

    async def plain(scope: Scope, receive: Any, send: Any) -> None:
        await send_json(send, 200, {})

    for app in (audited, plain):
        logged = AccessLogMiddleware(app, proxies=TrustedProxies(()))
        logged.sink = _sink(stream)
        await _call(logged)
        logged.sink.flush()
    assert not await later[0]  # a task started by the request finds the line already written
    assert not annotate_access_line("WRITE", key="outside")  # no request in progress
    write, request = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (write["event"], write["key"], write["version"]) == ("WRITE", "k1", "v9")
    assert (write["status"], write["method"], write["path"], write["client"]) == (201, "GET", "/", "1.2.3.4")
    assert (request["event"], request["status"]) == ("request", 200)
    assert "key" not in request


async def _call(app: Any) -> list[tuple[bytes, bytes]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"host", b"a")],
        "client": ("1.2.3.4", 1),
    }
    await app(scope, receive, send)
    return list(sent[0]["headers"])


async def _app(scope: Scope, receive: Any, send: Any) -> None:
    await send_json(send, 200, {}, [(b"server", b"leaky/1.0"), (b"x-frame-options", b"SAMEORIGIN")])


async def test_inner_headers_reach_the_response_with_and_without_the_collecting_layer() -> None:
    alone = dict(await _call(RequestIdMiddleware(_app)))
    assert len(alone[b"x-request-id"]) == 32
    stacked = await _call(SecurityHeadersMiddleware(RequestIdMiddleware(_app)))
    names = [name for name, _ in stacked]
    assert names.count(b"x-request-id") == 1
    assert b"server" not in names
    assert dict(stacked)[b"x-frame-options"] == b"SAMEORIGIN"  # the app's own value wins
    assert names.count(b"x-frame-options") == 1
    assert b"content-security-policy" in names


async def test_api_preset_keeps_document_only_headers_for_html_pages() -> None:
    async def page(scope: Scope, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    json_headers = dict(await _call(SecurityHeadersMiddleware(_app)))
    html_headers = dict(await _call(SecurityHeadersMiddleware(page)))
    for name in (
        b"permissions-policy",
        b"cross-origin-opener-policy",
        b"referrer-policy",
        b"x-permitted-cross-domain-policies",
    ):
        assert name not in json_headers  # no effect outside a document: not sent with JSON
        assert name in html_headers
    for name in (b"x-frame-options", b"content-security-policy", b"cross-origin-resource-policy"):
        assert name in json_headers  # what the REST cheat sheet asks of every API response stays

    async def redirect(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 307, "headers": [(b"location", b"/elsewhere")]})
        await send({"type": "http.response.body", "body": b""})

    # the referrer policy governs the Referer of the request a redirect leads to
    redirect_names = [name for name, _ in await _call(SecurityHeadersMiddleware(redirect))]
    assert redirect_names.count(b"referrer-policy") == 1
    assert b"permissions-policy" not in redirect_names
    for headers in (json_headers, html_headers):
        assert headers[b"x-content-type-options"] == b"nosniff"
        assert headers[b"strict-transport-security"].startswith(b"max-age=")
    overridden = SecurityHeadersMiddleware(page, overrides={"permissions-policy": "camera=(self)"})
    names = [name for name, _ in await _call(overridden)]
    assert names.count(b"permissions-policy") == 1


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_a_response_written_in_one_loop_step_reaches_the_socket_as_one_write() -> None:
    from servicekit.coalesce import FLUSH_BYTES, CoalescingTransport

    raw = RecordingTransport()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert raw.writes == []  # deferred to the end of this step
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"x" * FLUSH_BYTES)  # a big chunk is not held back
    assert len(raw.writes) == 2
    transport.write(b"last")
    transport.close()  # pending bytes go out before the close
    assert raw.writes[-1] == b"last"
    assert raw.closed
    assert transport.get_extra_info("peername") == "info:peername"
    dropped = CoalescingTransport(RecordingTransport(), asyncio.get_running_loop())  # type: ignore[arg-type]
    dropped.write(b"never")
    dropped.abort()
    await asyncio.sleep(0)
    assert dropped._transport.writes == []  # type: ignore[attr-defined]


async def test_host_verdicts_are_remembered_within_a_bound_and_stay_correct() -> None:
    async def ok(scope: Scope, receive: Any, send: Any) -> None:
        await send_json(send, 200, {})

    hosts = TrustedHostsMiddleware(ok, allowed_hosts=["api.example.org", "*.example.net"])

    async def status(host: bytes) -> int:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host)]}
        await hosts(scope, lambda: None, send)  # type: ignore[arg-type]
        return int(sent[0]["status"])

    for n in range(600):  # a client cycling through Host headers cannot grow the memory without bound
        assert await status(f"evil{n}.example.com".encode()) == 400
    assert len(hosts._verdicts) <= 256
    for _ in range(2):  # decided, then remembered: the same answer both times
        assert await status(b"api.example.org:8443") == 200
        assert await status(b"tiles.example.net") == 200
        assert await status(b"example.net") == 400
        assert await status(b"evil1.example.com") == 400
