"""SpotOn's domain metrics, registered on servicekit's registry (plain counters when metrics are off)."""

from __future__ import annotations

from servicekit import ServiceMetrics

from spoton.pipeline import JobCounters

__all__ = ["SpotOnMetrics"]


class SpotOnMetrics:
    def __init__(self, metrics: ServiceMetrics | None) -> None:
        self.frames_total = 0
        self._frames = self._detections = self._finished = self._dropped = None
        self._ws_clients = None
        self._live_errors = None
        if metrics is not None:
            self._frames = metrics.counter("spoton_frames_processed_total", "Camera frames processed by jobs.")
            self._detections = metrics.counter("spoton_tracked_boxes_total", "Tracked boxes stored by jobs.")
            self._finished = metrics.counter("spoton_tasks_finished_total", "Jobs finished, by status.", ("status",))
            self._dropped = metrics.counter(
                "spoton_ws_dropped_messages_total", "Live messages dropped because a WebSocket client was slow."
            )
            self._ws_clients = metrics.gauge("spoton_ws_clients", "Connected live-tracking WebSocket clients.")
            self._live_errors = metrics.counter(
                "spoton_live_state_errors_total", "Live-state (Redis) writes a job skipped because Redis failed."
            )

    def frames(self, n: int) -> None:
        self.frames_total += n
        if self._frames is not None:
            self._frames.inc(n)

    def detections(self, n: int) -> None:
        if self._detections is not None:
            self._detections.inc(n)

    def finished(self, status: str) -> None:
        if self._finished is not None:
            self._finished.labels(status=status).inc()

    def dropped(self, n: int) -> None:
        if self._dropped is not None:
            self._dropped.inc(n)

    def ws_clients(self, delta: int) -> None:
        if self._ws_clients is not None:
            self._ws_clients.inc(delta)

    def live_errors(self, n: int) -> None:
        if self._live_errors is not None:
            self._live_errors.inc(n)

    def job_counters(self) -> JobCounters:
        return JobCounters(
            frames=self.frames, detections=self.detections, finished=self.finished, live_errors=self.live_errors
        )
