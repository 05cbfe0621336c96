"""One app's running store: nodes (each behind its breaker and, when fault injection is on, behind a
fault proxy the app starts itself), the CP or AP coordinator, and the operations the HTTP layer calls.

The same class serves both modes; the only difference is which coordinator it builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from servicekit import get_logger
from servicekit.resilience import CircuitBreaker

from capstore.ap import APCoordinator
from capstore.config import NODE_IDS, Settings, node_url
from capstore.cp import CPCoordinator
from capstore.errors import (
    CannotHonourSession,
    CPReadUnavailable,
    CPWriteRefused,
    InvalidInput,
    NoNodeAvailable,
)
from capstore.faults import FaultMode, FaultProxy
from capstore.http_errors import FaultAdminDisabled, UnknownNode, ValueTooLarge
from capstore.node import RedisNode
from capstore.records import MAX_VALUE_BYTES, oversize
from capstore.session import SessionSigner
from capstore.telemetry import Telemetry
from capstore.versioning import HybridClock

__all__ = ["ReadReply", "Runtime", "WriteReply", "session_key"]

T = TypeVar("T")
_STATE_NAMES = {0: "CLOSED", 1: "HALF_OPEN", 2: "OPEN"}
_GAUGE_INTERVAL_S = 0.5


class WriteReply(NamedTuple):
    key: str
    version: str
    node: str
    """The node that took the write (CP: the primary, after every backup)."""
    deleted: bool
    session: str | None
    timestamp: float


class ReadReply(NamedTuple):
    key: str
    value: str | None
    version: str | None
    node: str
    staleness_ms: float
    stale: bool
    session: str | None


def session_key(settings: Settings) -> bytes:
    """The HMAC key for session tokens, derived from SECRET_KEY (domain-separated from its other uses).
    Without SECRET_KEY (development) a random per-process key: tokens then only work on this process."""
    secret = settings.SECRET_KEY.get_secret_value() if settings.SECRET_KEY else ""
    if not secret:
        get_logger("capstore").warning("SECRET_KEY_MISSING", detail="session tokens use a random per-process key")
        return secrets.token_bytes(32)
    return hmac.new(secret.encode(), b"capstore/session-token/v1", hashlib.sha256).digest()


def _check_value(value: str) -> str:
    size = oversize(value)
    if size is not None:
        raise ValueTooLarge(f"value is {size} bytes; the limit is {MAX_VALUE_BYTES}")
    return value


class Runtime:
    def __init__(self, settings: Settings, telemetry: Telemetry) -> None:
        self.settings = settings
        self.mode = settings.MODE
        self.telemetry = telemetry
        self.app_id = f"{self.mode}-{secrets.token_hex(4)}"
        """Also the HLC's node id: versions written by this process are told apart by it."""
        self.signer = SessionSigner(session_key(settings))
        self.order = [settings.PRIMARY_NODE, *(n for n in NODE_IDS if n != settings.PRIMARY_NODE)]
        listeners = [telemetry.breaker_metrics] if telemetry.breaker_metrics is not None else []
        self.breakers = {
            node_id: CircuitBreaker(
                node_id,
                failure_threshold=settings.BREAKER_FAILURE_THRESHOLD,
                failure_window=settings.BREAKER_FAILURE_WINDOW,
                recovery_timeout=settings.BREAKER_RECOVERY_TIMEOUT,
                listeners=listeners,
            )
            for node_id in self.order
        }
        self.proxies: dict[str, FaultProxy] = {}
        self.nodes: dict[str, RedisNode] = {}
        self.cp: CPCoordinator | None = None
        self.ap: APCoordinator | None = None
        self._gauges: asyncio.Task[None] | None = None
        self.log = get_logger("capstore")

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        for node_id, url in settings.node_urls.items():
            if settings.fault_admin_enabled:
                parts = urlsplit(url)
                proxy = await FaultProxy(parts.hostname or "127.0.0.1", parts.port or 6379, name=node_id).start()
                self.proxies[node_id] = proxy
                url = node_url(url, settings.database, host=proxy.listen_host, port=proxy.port)
            self.nodes[node_id] = RedisNode(
                node_id,
                url,
                timeout_s=settings.NETWORK_TIMEOUT_SEC,
                breaker=self.breakers[node_id],
                max_log_len=settings.MAX_LOG_LEN,
            )
        ordered = [self.nodes[node_id] for node_id in self.order]
        clock = HybridClock(self.app_id)
        if self.mode == "cp":
            self.cp = CPCoordinator(ordered[0], ordered[1:], clock, events=self.telemetry.event)
        else:
            self.ap = APCoordinator(
                ordered,
                clock,
                self.signer,
                max_staleness_ms=settings.MAX_STALENESS_MS,
                session_wait_ms=settings.SESSION_WAIT_MS,
                anti_entropy_interval_s=settings.ANTI_ENTROPY_INTERVAL_SEC,
                replication_linger_ms=settings.REPLICATION_LINGER_MS,
                tombstone_grace_s=settings.TOMBSTONE_GRACE_SEC,
                events=self.telemetry.event,
            )
            await self.ap.start()
        self._gauges = asyncio.create_task(self._export_gauges())
        self.log.info(
            "capstore_started",
            mode=self.mode,
            app_id=self.app_id,
            primary=self.order[0],
            fault_proxies={n: p.port for n, p in self.proxies.items()},
        )

    async def stop(self) -> None:
        if self._gauges is not None:
            self._gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauges
        if self.ap is not None:
            await self.ap.stop()
        for node in self.nodes.values():
            await node.close()
        for proxy in self.proxies.values():
            await proxy.stop()

    async def _export_gauges(self) -> None:
        while True:
            for node_id, staleness in self.staleness().items():
                self.telemetry.set_staleness(node_id, staleness)
            await asyncio.sleep(_GAUGE_INTERVAL_S)

    # -- operations -------------------------------------------------------------------------------

    async def _tracked(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        status = "ok"
        try:
            return await call
        except CPWriteRefused as error:
            status = error.outcome.value
            raise
        except (CPReadUnavailable, NoNodeAvailable, CannotHonourSession):
            status = "unavailable"
            raise
        except InvalidInput:
            status = "invalid"
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            self.telemetry.observe(operation, status, time.perf_counter() - started)

    def _cp_session(self, session: str | None) -> str | None:
        # CP reads are linearizable, so the token carries nothing here; it is still verified and echoed.
        if session:
            self.signer.decode(session)
        return session

    async def write(self, key: str, value: str, session: str | None = None) -> WriteReply:
        return await self._tracked("write", self._write(key, _check_value(value), session))

    async def delete(self, key: str, session: str | None = None) -> WriteReply:
        return await self._tracked("delete", self._write(key, None, session))

    async def _write(self, key: str, value: str | None, session: str | None) -> WriteReply:
        if self.ap is not None:
            ap_ack = await (self.ap.write(key, value, session) if value is not None else self.ap.delete(key, session))
            return WriteReply(ap_ack.key, ap_ack.version, ap_ack.node, value is None, ap_ack.session, time.time())
        assert self.cp is not None, "runtime not started"
        session = self._cp_session(session)
        cp_ack = await (self.cp.write(key, value) if value is not None else self.cp.delete(key))
        return WriteReply(cp_ack.key, cp_ack.version, self.cp.primary.node_id, value is None, session, time.time())

    async def read(self, key: str, session: str | None = None) -> ReadReply:
        return await self._tracked("read", self._read(key, session))

    async def _read(self, key: str, session: str | None) -> ReadReply:
        if self.ap is not None:
            ap = await self.ap.read(key, session)
            return ReadReply(ap.key, ap.value, ap.version, ap.node, round(ap.staleness_ms, 1), ap.stale, session)
        assert self.cp is not None, "runtime not started"
        session = self._cp_session(session)
        cp = await self.cp.read(key)
        return ReadReply(cp.key, cp.value, cp.version, cp.node, 0.0, False, session)

    # -- status -----------------------------------------------------------------------------------

    def staleness(self) -> dict[str, float]:
        if self.ap is not None:
            return {node_id: round(ms, 1) for node_id, ms in self.ap.staleness().items()}
        return dict.fromkeys(self.order, 0.0)  # CP: every acknowledged write is on every node

    def breaker_status(self) -> dict[str, Any]:
        nodes = {}
        for node_id, breaker in self.breakers.items():
            code = int(breaker.state)
            nodes[node_id] = {"state": _STATE_NAMES[code], "code": code}
        return {"mode": self.mode, "app_id": self.app_id, "nodes": nodes}

    def status(self) -> dict[str, Any]:
        staleness = self.staleness()
        breakers = self.breaker_status()["nodes"]
        return {
            "mode": self.mode,
            "app_id": self.app_id,
            "primary": self.order[0],
            "max_staleness_ms": self.settings.MAX_STALENESS_MS,
            "fault_admin": bool(self.proxies),
            "nodes": [
                {
                    "id": node_id,
                    "breaker": breakers[node_id]["state"],
                    "breaker_code": breakers[node_id]["code"],
                    "staleness_ms": staleness.get(node_id, 0.0),
                    "stale": staleness.get(node_id, 0.0) > self.settings.MAX_STALENESS_MS,
                    "fault": self.proxies[node_id].describe() if node_id in self.proxies else None,
                }
                for node_id in self.order
            ],
        }

    async def ping_nodes(self) -> dict[str, Any]:
        """Readiness: fails only when no node answers (CP refusals and AP staleness are answers too)."""
        replies = await asyncio.gather(*(node.ping() for node in self.nodes.values()), return_exceptions=True)
        details = {
            node_id: "ok" if reply is None else f"{type(reply).__name__}: {reply}"
            for node_id, reply in zip(self.nodes, replies, strict=True)
        }
        if not self.nodes or all(value != "ok" for value in details.values()):
            raise RuntimeError(f"no Redis node answers: {details}")
        return {"nodes": details}

    # -- faults -----------------------------------------------------------------------------------

    def _proxy(self, node_id: str) -> FaultProxy:
        if not self.proxies:
            raise FaultAdminDisabled("fault injection is off (set ENABLE_FAULT_ADMIN=true to turn it on)")
        if node_id not in self.proxies:
            raise UnknownNode(f"no node {node_id[:40]!r}; nodes are {sorted(self.proxies)}")
        return self.proxies[node_id]

    def faults(self) -> dict[str, Any]:
        if not self.proxies:
            raise FaultAdminDisabled("fault injection is off (set ENABLE_FAULT_ADMIN=true to turn it on)")
        return {node_id: proxy.describe() for node_id, proxy in self.proxies.items()}

    async def set_fault(self, node_id: str, mode: str, delay_ms: float = 0.0) -> dict[str, Any]:
        proxy = self._proxy(node_id)
        try:
            fault = FaultMode(mode)
        except ValueError:
            raise InvalidInput(f"mode must be one of {[m.value for m in FaultMode]}") from None
        if fault is FaultMode.DELAY and not 0 < delay_ms <= 60_000:
            raise InvalidInput("delay mode needs 0 < delay_ms <= 60000")
        await proxy.set_mode(fault, delay_ms)
        event = "PARTITION_REMOVED" if fault is FaultMode.PASS else "PARTITION_INJECTED"
        self.log.warning(event, mode=self.mode, node=node_id, fault=fault.value, delay_ms=proxy.delay_ms)
        return proxy.describe()

    async def heal(self) -> dict[str, Any]:
        for node_id in self._proxy_ids():
            await self.set_fault(node_id, FaultMode.PASS.value)
        return self.faults()

    def _proxy_ids(self) -> list[str]:
        self.faults()  # raises when fault injection is off
        return list(self.proxies)
