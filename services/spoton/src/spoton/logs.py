"""The service's structured logger (servicekit configures rendering and redaction)."""

from __future__ import annotations

from typing import Any

from servicekit import get_logger

__all__ = ["log"]

log: Any = get_logger("spoton")
