"""The commands every service's console script has: `serve` and `check --deploy`.

`service_cli` returns a click group; a service adds its own commands to it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

import click

from servicekit.checks import CheckLevel, DeployCheck, run_deploy_checks
from servicekit.settings import ServiceSettings

__all__ = ["service_cli"]


def service_cli(
    name: str,
    *,
    settings_factory: Callable[[], ServiceSettings],
    app_factory_path: str,
    extra_checks: Sequence[DeployCheck] = (),
    help_text: str | None = None,
) -> click.Group:
    @click.group(name=name, help=help_text or f"{name} service")
    def group() -> None:
        pass

    @group.command("serve", help="Serve the HTTP API (uvicorn in development, gunicorn in production).")
    @click.option("--host", default=None, help="Bind address (default: HOST).")
    @click.option("--port", type=int, default=None, help="Bind port (default: PORT).")
    @click.option("--workers", type=int, default=None, help="gunicorn workers in production (default: WORKERS).")
    @click.option("--production/--development", default=None, help="Override PRODUCTION_MODE.")
    def serve_command(host: str | None, port: int | None, workers: int | None, production: bool | None) -> None:
        from servicekit.checks import UnsafeSettingsError, enforce_deploy_checks
        from servicekit.serving import serve

        if production is not None:
            # Workers build their own Settings from the environment: the override must reach them.
            os.environ["PRODUCTION_MODE"] = "true" if production else "false"
        settings = settings_factory()
        try:
            enforce_deploy_checks(settings, extra_checks)
        except UnsafeSettingsError as error:
            click.echo(str(error), err=True)
            sys.exit(2)
        serve(app_factory_path, settings, production=settings.PRODUCTION_MODE, host=host, port=port, workers=workers)

    @group.command("check", help="Check the configuration; --deploy applies the production checks.")
    @click.option("--deploy", is_flag=True, help="Run the deployment checks (as for PRODUCTION_MODE=true).")
    def check_command(deploy: bool) -> None:
        settings = settings_factory()
        messages = run_deploy_checks(settings, extra_checks) if deploy else []
        for message in messages:
            click.echo(str(message))
        errors = sum(1 for message in messages if message.level is CheckLevel.ERROR)
        if errors:
            click.echo(f"{name}: {errors} error(s), {len(messages) - errors} warning(s).", err=True)
            sys.exit(1)
        click.echo(f"{name}: no deployment issues found ({len(messages)} warning(s)).")

    return group
