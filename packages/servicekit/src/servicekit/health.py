"""Liveness and readiness.

`/health` says the process is alive and never touches a dependency (a slow database must not get
pods killed). `/ready` runs named async checks concurrently, each with its own timeout, and fails
(503) if any fails, in the `application/health+json` shape of draft-inadarei-api-health-check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Health", "ReadinessCheck"]

CheckFn = Callable[[], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class ReadinessCheck:
    """`check` raises (or times out) when the dependency is not usable; it may return details."""

    name: str
    check: CheckFn
    timeout: float = 2.0


@dataclass
class Health:
    """What a service reports on its probe endpoints."""

    service: str
    version: str = "0.1.0"
    checks: Sequence[ReadinessCheck] = ()
    liveness_details: Callable[[], Mapping[str, Any]] | None = None
    started_at: float = field(default_factory=time.time)

    def liveness(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "pass",
            "service": self.service,
            "version": self.version,
            "uptime_seconds": round(time.time() - self.started_at, 3),
        }
        if self.liveness_details is not None:
            body.update(self.liveness_details())
        return body

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        results = await asyncio.gather(*(self._run(check) for check in self.checks))
        ok = all(result["status"] == "pass" for result in results)
        body = {
            "status": "pass" if ok else "fail",
            "service": self.service,
            "version": self.version,
            "checks": {check.name: [result] for check, result in zip(self.checks, results, strict=True)},
        }
        return ok, body

    @staticmethod
    async def _run(check: ReadinessCheck) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            details = await asyncio.wait_for(check.check(), timeout=check.timeout)
        except TimeoutError:
            outcome: dict[str, Any] = {"status": "fail", "output": f"timed out after {check.timeout}s"}
        except Exception as error:
            outcome = {"status": "fail", "output": f"{type(error).__name__}: {error}"[:300]}
        else:
            outcome = {"status": "pass", **(details or {})}
        outcome["observedValue"] = round((time.perf_counter() - started) * 1000, 2)
        outcome["observedUnit"] = "ms"
        return outcome
