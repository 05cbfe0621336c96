"""`flotilla up` and `flotilla status`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import httpx
from servicekit import LOCAL_PORTS
from servicekit.serving import load_factory

from fleet.registry import SERVICES, BackingPorts, ServiceSpec
from fleet.runner import FleetOptions, PortInUseError, run_fleet

__all__ = ["main"]


def _services(registry: str | None, only: str | None) -> list[ServiceSpec]:
    services = list(load_factory(registry)() if registry else SERVICES)
    if only:
        wanted = {name.strip() for name in only.split(",")}
        unknown = wanted - {spec.name for spec in services}
        if unknown:
            raise click.BadParameter(f"unknown service(s): {', '.join(sorted(unknown))}", param_hint="--only")
        services = [spec for spec in services if spec.name in wanted]
    return services


@click.group(help="Run the Flotilla fleet locally.")
def main() -> None:
    pass


@main.command(help="Start backing servers, every installed service and the gateway; Ctrl-C stops all.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path(".data"), show_default=True)
@click.option("--only", default=None, help="Comma-separated service names to run.")
@click.option("--gateway-port", type=int, default=LOCAL_PORTS["gateway"], show_default=True)
@click.option("--backing-port-base", type=int, default=None,
              help="postgres on BASE, redis shared/db_g1/db_g2 on BASE+1..3 (default 5433, 6380-6382).")  # fmt: skip
@click.option("--registry", default=None, hidden=True, help="module:function returning ServiceSpecs (tests).")
def up(
    data_dir: Path, only: str | None, gateway_port: int, backing_port_base: int | None, registry: str | None
) -> None:
    options = FleetOptions(
        data_dir=data_dir,
        gateway_port=gateway_port,
        backing=BackingPorts.from_base(backing_port_base) if backing_port_base else BackingPorts(),
        services=_services(registry, only),
    )
    try:
        sys.exit(run_fleet(options))
    except PortInUseError as error:
        click.echo(f"flotilla: {error}", err=True)
        sys.exit(2)


@main.command(help="Print the health of every registered service.")
def status() -> None:
    for spec in SERVICES:
        if not spec.executable():
            click.echo(f"{spec.name:<14} not installed")
            continue
        try:
            code = httpx.get(f"http://127.0.0.1:{spec.port}{spec.health_path}", timeout=2).status_code
            click.echo(f"{spec.name:<14} {'up' if code == 200 else f'down ({code})'}  :{spec.port}")
        except httpx.HTTPError:
            click.echo(f"{spec.name:<14} down  :{spec.port}")


if __name__ == "__main__":
    main()
