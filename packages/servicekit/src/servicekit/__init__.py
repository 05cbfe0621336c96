"""Flotilla servicekit: the production envelope every service uses (written once, here).

Public surface: settings and deploy checks, the middleware stack (`envelope`), health, metrics,
logs, resilience primitives, serving, the shutdown signal and the service CLI.
"""

from servicekit.checks import (
    CheckLevel,
    CheckMessage,
    DeployCheck,
    UnsafeSettingsError,
    enforce_deploy_checks,
    run_deploy_checks,
    secret_checks,
)
from servicekit.envelope import envelope, metrics_for
from servicekit.health import Health, ReadinessCheck
from servicekit.logs import configure_logging, get_logger
from servicekit.metrics import ServiceMetrics
from servicekit.middleware.access_log import annotate_access_line
from servicekit.ports import LOCAL_PORTS
from servicekit.settings import CommaList, SecretFileError, ServiceSettings
from servicekit.shutdown import is_shutting_down, request_shutdown, until_shutdown, wait_for_shutdown
from servicekit.stack import MIDDLEWARE_ORDER, StackContext, wrap_app

__all__ = [
    "LOCAL_PORTS",
    "MIDDLEWARE_ORDER",
    "CheckLevel",
    "CheckMessage",
    "CommaList",
    "DeployCheck",
    "Health",
    "ReadinessCheck",
    "SecretFileError",
    "ServiceMetrics",
    "ServiceSettings",
    "StackContext",
    "UnsafeSettingsError",
    "annotate_access_line",
    "configure_logging",
    "enforce_deploy_checks",
    "envelope",
    "get_logger",
    "is_shutting_down",
    "metrics_for",
    "request_shutdown",
    "run_deploy_checks",
    "secret_checks",
    "until_shutdown",
    "wait_for_shutdown",
    "wrap_app",
]
