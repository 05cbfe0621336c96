"""Prometheus metrics for one service: a namespace, its own registry, gunicorn multiprocess support.

Each service gets `<ns>_requests_total{endpoint,method,status}` and
`<ns>_request_duration_seconds{endpoint,method}` from the metrics middleware, and registers its own
domain metrics through `counter`/`gauge`/`histogram` so everything lands in one registry.
Under gunicorn (`multiprocess_dir` set) values live in per-process files that `render` aggregates;
`serve` sweeps files of dead workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["LATENCY_BUCKETS", "ServiceMetrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GaugeMode = Literal[
    "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent"
]


class ServiceMetrics:
    """The registry of one service; `namespace` prefixes the HTTP metrics (`mapmap_requests_total`)."""

    def __init__(self, namespace: str, *, multiprocess_dir: Path | None = None) -> None:
        self.namespace = namespace
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests_total = self.counter(
            f"{namespace}_requests_total", "HTTP requests by route template, method and status.",
            ("endpoint", "method", "status"),
        )  # fmt: skip
        self.request_duration = self.histogram(
            f"{namespace}_request_duration_seconds", "HTTP request duration by route template and method.",
            ("endpoint", "method"),
        )  # fmt: skip
        self.rate_limited_total = self.counter(
            f"{namespace}_rate_limited_total", "Requests refused with 429 by the rate limiter.", ()
        )
        self.rate_limit_storage_errors_total = self.counter(
            f"{namespace}_rate_limit_storage_errors_total",
            "Rate-limit storage errors; the limiter failed open and let the request through.",
            (),
        )

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labelnames=labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = (), *, mode: GaugeMode = "livemax") -> Gauge:
        return Gauge(name, documentation, labelnames=labels, registry=self.registry, multiprocess_mode=mode)

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return Histogram(name, documentation, labelnames=labels, registry=self.registry, buckets=buckets)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type; aggregates every worker in multiprocess mode."""
        if self.multiprocess_dir is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
