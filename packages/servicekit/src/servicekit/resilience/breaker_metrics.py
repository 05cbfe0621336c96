"""Exports breaker state (0 CLOSED, 1 HALF_OPEN, 2 OPEN) as a gauge and counts transitions."""

from __future__ import annotations

from servicekit.logs import get_logger
from servicekit.metrics import ServiceMetrics
from servicekit.resilience.breaker_storage import BreakerState

__all__ = ["BreakerMetrics"]


class BreakerMetrics:
    """A breaker listener. Metric and label names are configurable because the seeds differ
    (capstore's guide names the gauge `circuit_breaker_state`)."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        *,
        gauge_name: str | None = None,
        transitions_name: str | None = None,
        label: str = "breaker",
    ) -> None:
        ns = metrics.namespace
        self.state = metrics.gauge(
            gauge_name or f"{ns}_circuit_breaker_state",
            "Circuit breaker state: 0 CLOSED, 1 HALF_OPEN, 2 OPEN.",
            (label,),
            mode="mostrecent",
        )
        self.transitions = metrics.counter(
            transitions_name or f"{ns}_circuit_breaker_transitions_total",
            "Circuit breaker state transitions.",
            (label, "from_state", "to_state"),
        )
        self.log = get_logger("servicekit.breaker")

    def __call__(self, name: str, old: BreakerState, new: BreakerState) -> None:
        self.state.labels(name).set(int(new))
        if old is not new:
            self.transitions.labels(name, old.name, new.name).inc()
            self.log.warning("circuit_breaker_transition", breaker=name, from_state=old.name, to_state=new.name)
