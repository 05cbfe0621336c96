"""structlog configuration: JSON in production, console in development, one format for every logger.

stdlib loggers (uvicorn, gunicorn, Django, libraries) are routed through the same processors, the
request id bound by the middleware appears on every line of a request, and secret values and
secret-looking keys are masked before anything is rendered.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
from collections.abc import Iterable, MutableMapping
from functools import lru_cache
from typing import Any

import orjson
import structlog

from servicekit.logbuffer import BufferedJsonLines

__all__ = ["buffered_lines", "configure_logging", "get_logger", "redact_secrets"]

_SECRET_KEY_PATTERN = re.compile(r"(secret|password|passwd|token|authorization|api[_-]?key|cookie|credential)", re.I)
_MASK = "**********"
_BUFFERED = BufferedJsonLines()


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    # Log events use a small, fixed set of keys, so the regex runs once per key, not per line.
    return key != "event" and _SECRET_KEY_PATTERN.search(key) is not None


def redact_secrets(secret_values: Iterable[str]) -> structlog.types.Processor:
    """A processor that masks secret-looking keys and any occurrence of the configured secret values."""
    values = sorted({value for value in secret_values if len(value) >= 4}, key=len, reverse=True)

    def mask(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, _MASK)
        return text

    def processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            if _is_secret_key(key):
                event_dict[key] = _MASK
            elif values and isinstance(value, str):
                event_dict[key] = mask(value)
        return event_dict

    return processor


def configure_logging(
    *, level: str = "INFO", json: bool = True, service: str | None = None, secret_values: Iterable[str] = ()
) -> None:
    """Configure structlog and the stdlib root logger once per process (idempotent).

    structlog loggers (service code, the access log) take a fast native path: level filtering
    before any work, orjson rendering, bytes straight to stdout. stdlib loggers (uvicorn,
    gunicorn, Django, libraries) pass through the same processors via ProcessorFormatter.
    """
    secret_values = tuple(secret_values)
    shared: list[structlog.types.Processor] = [
        _logger_name_field,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets(secret_values),
    ]
    if service:
        shared.insert(0, _add_service(service))
    numeric_level = logging.getLevelName(level)
    # Hot-path INFO lines (access log, per-write logs) take the buffered sink when rendering JSON.
    _BUFFERED.configure(
        sys.stdout.buffer if json and numeric_level <= logging.INFO else None,
        service=service,
        secret_values=secret_values,
        is_secret_key=_is_secret_key,
    )
    if json:
        structlog.configure(
            processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer(orjson.dumps)],
            logger_factory=structlog.BytesLoggerFactory(sys.stdout.buffer),
            wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
            cache_logger_on_first_use=False,
        )
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
        structlog.configure(
            processors=[*shared, renderer],
            logger_factory=structlog.PrintLoggerFactory(sys.stdout),
            wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
            cache_logger_on_first_use=False,
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared[:-1], structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(), shared[-1]],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Server loggers keep their own handlers unless told otherwise; route them to the root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access", "django"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.disabled = False  # a server's dictConfig may have disabled it
        logger.setLevel(logging.NOTSET)  # follow the root's LOG_LEVEL
    # The access-log middleware logs requests; uvicorn's own access log would double them. Without
    # handlers anywhere up its chain uvicorn skips it entirely (it checks `hasHandlers()` per
    # connection); merely filtered by level, it would still format client and path per response.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.setLevel(logging.WARNING)
    uvicorn_access.propagate = False


def buffered_lines() -> BufferedJsonLines:
    """The process-wide buffered sink for hot-path INFO lines; `enabled` only with JSON logs at INFO or
    below (otherwise log through `get_logger`, which renders the console format)."""
    return _BUFFERED


def _add_service(service: str) -> structlog.types.Processor:
    def processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def get_logger(name: str | None = None) -> Any:
    """A lazy structlog logger (safe at import time: it uses the configuration current when it
    logs); `name` becomes the `logger` field. Hot paths may `.bind()` it once after configuring."""
    return structlog.get_logger(logger_name=name) if name else structlog.get_logger()


def _logger_name_field(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # structlog reserves `logger` as a keyword of get_logger, so names travel as `logger_name`.
    name = event_dict.pop("logger_name", None)
    if name is not None:
        event_dict.setdefault("logger", name)
    return event_dict
