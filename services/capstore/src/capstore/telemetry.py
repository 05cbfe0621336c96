"""The seed's domain metrics (exact names) on the service's registry, and the event sink that logs
the coordinators' events (every write with its timestamp, DB_CONNECT_FAILURE, partitions) with
structlog and counts connection failures.

A write made by an HTTP request is logged on that request's access line (event WRITE, with the
request's method, path, status, client and request id): one line per write, not two.

servicekit's own HTTP metrics live on the same registry under the `capstore_` namespace, so the
seed's `app_requests_total{mode,operation,status}` never collides with them.
"""

from __future__ import annotations

from typing import Any

import structlog
from servicekit import ServiceMetrics, annotate_access_line, get_logger
from servicekit.logs import buffered_lines
from servicekit.resilience import BreakerMetrics

from capstore import events

__all__ = ["Telemetry"]

_WARN_EVENTS = {
    events.DB_CONNECT_FAILURE,
    events.PARTITION_DETECTED,
    events.WRITE_REFUSED,
    events.REPLICATION_GAP,
}


class Telemetry:
    def __init__(self, metrics: ServiceMetrics | None, mode: str) -> None:
        self.mode = mode
        self.log = get_logger("capstore")
        self.lines = buffered_lines()  # every write is logged: through the buffered sink, cheaply
        self.metrics = metrics
        self.breaker_metrics: BreakerMetrics | None = None
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        if metrics is None:
            return
        self.requests = metrics.counter(
            "app_requests_total", "Key-value operations by mode, operation and status.", ("mode", "operation", "status")
        )
        self.latency = metrics.histogram(
            "app_request_latency_seconds", "Key-value operation latency.", ("mode", "operation")
        )
        self.staleness = metrics.gauge(
            "data_staleness_ms", "Replication lag of a node as seen by this app (ms).", ("node",), mode="livemax"
        )
        self.connection_failures = metrics.counter(
            "db_connection_failures_total", "Failed calls to a Redis node (connect, timeout, reset).", ("node",)
        )
        # 0 CLOSED, 1 HALF_OPEN, 2 OPEN, one series per node; transitions are logged by servicekit.
        self.breaker_metrics = BreakerMetrics(metrics, gauge_name="circuit_breaker_state", label="node")

    def observe(self, operation: str, status: str, seconds: float) -> None:
        if self.metrics is None:
            return
        children = self._children.get((operation, status))
        if children is None:  # labels() is the costly part: once per label set
            children = self._children[(operation, status)] = (
                self.requests.labels(self.mode, operation, status),
                self.latency.labels(self.mode, operation),
            )
        children[0].inc()
        children[1].observe(seconds)

    def set_staleness(self, node: str, staleness_ms: float) -> None:
        if self.metrics is not None:
            self.staleness.labels(node).set(staleness_ms)

    def event(self, event: str, /, **fields: Any) -> None:
        """The coordinators' EventSink."""
        if event == events.DB_CONNECT_FAILURE and self.metrics is not None:
            self.connection_failures.labels(str(fields.get("node", "unknown"))).inc()
        fields.setdefault("mode", self.mode)
        if "timestamp" in fields:  # the log renderer owns `timestamp` (the line's time)
            fields["written_at"] = fields.pop("timestamp")
        if event in _WARN_EVENTS:
            self.log.warning(event, **fields)
            return
        if event == events.WRITE and annotate_access_line(event, **fields):
            return  # the request's access line carries it
        if self.lines.enabled:
            self.lines.emit("capstore", event, structlog.contextvars.get_contextvars(), fields)
        else:
            self.log.info(event, **fields)
