"""`flotilla up`: backing servers, services, gateway; one URL printed; Ctrl-C stops it all in order."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from servicekit.local import NginxServer, PostgresServer, RedisServer

from fleet.gateway import render_gateway_config, write_landing_page
from fleet.registry import BackingPorts, BackingUrls, ServiceSpec
from fleet.supervisor import Supervisor

__all__ = ["FleetOptions", "PortInUseError", "run_fleet"]

_EXTENSIONS = ("postgis", "pgrouting", "pg_trgm")


class PortInUseError(RuntimeError):
    pass


@dataclass(frozen=True)
class FleetOptions:
    data_dir: Path
    gateway_port: int
    backing: BackingPorts
    services: Sequence[ServiceSpec]
    health_timeout: float = 90.0


def _assert_free(ports: dict[str, int]) -> None:
    for what, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise PortInUseError(
                    f"port {port} ({what}) is already in use: stop whatever holds it "
                    f"(`ss -ltnp 'sport = :{port}'` shows it) or a previous `make up`, then retry"
                ) from None


async def _wait_healthy(spec: ServiceSpec, within: float, supervisor: Supervisor) -> bool:
    url = f"http://127.0.0.1:{spec.port}{spec.health_path}"
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(timeout=1.0) as client:
        while asyncio.get_running_loop().time() < deadline and not supervisor.has_failed(spec.name):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return True
            await asyncio.sleep(0.5)
    return False


async def _run(options: FleetOptions, urls: BackingUrls, supervisor: Supervisor, stop: asyncio.Event) -> None:
    installed = [spec for spec in options.services if spec.executable()]
    for spec in options.services:
        if spec not in installed:
            supervisor.say("fleet", f"{spec.name}: not installed in this environment, skipped")
    started: list[ServiceSpec] = []
    for spec in installed:
        env = {**spec.env(urls), "PORT": str(spec.port)}
        for step in spec.prepare:
            if await supervisor.run_once(spec.name, list(step), env) != 0:
                supervisor.say(spec.name, "preparation failed; not starting it", "31")
                break
        else:
            await supervisor.start(spec.name, spec.serve_argv(), env)
            started.append(spec)
    results = await asyncio.gather(*(_wait_healthy(spec, options.health_timeout, supervisor) for spec in started))
    for spec, healthy in zip(started, results, strict=True):
        supervisor.say("fleet", f"{spec.name}: {'healthy' if healthy else 'NOT healthy'} on port {spec.port}")
    supervisor.say("fleet", f"Flotilla is up: http://localhost:{options.gateway_port}/  (Ctrl-C stops everything)")
    await stop.wait()


def run_fleet(options: FleetOptions) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    backing = options.backing
    _assert_free({
        "gateway": options.gateway_port, "postgres": backing.postgres, "redis shared": backing.redis_shared,
        "redis db_g1": backing.redis_db_g1, "redis db_g2": backing.redis_db_g2,
        **{spec.name: spec.port for spec in options.services if spec.executable()},
    })  # fmt: skip
    data = options.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor()
    started: list[PostgresServer | RedisServer | NginxServer] = []
    try:
        supervisor.say("fleet", f"data in {data}")
        postgres = PostgresServer(directory=data / "postgres", port=backing.postgres).start()
        started.append(postgres)
        for spec in options.services:
            for database in spec.databases:
                postgres.create_database(database, _EXTENSIONS)
        supervisor.say("fleet", f"postgres (PostGIS, pgRouting) on 127.0.0.1:{backing.postgres}")
        redis_servers = {
            "shared": RedisServer(data / "redis" / "shared", port=backing.redis_shared),
            "db_g1": RedisServer(data / "redis" / "db_g1", port=backing.redis_db_g1, appendonly=True),
            "db_g2": RedisServer(data / "redis" / "db_g2", port=backing.redis_db_g2, appendonly=True),
        }
        for name, server in redis_servers.items():
            started.append(server.start())
            supervisor.say("fleet", f"redis {name} on 127.0.0.1:{server.port}")
        site = data / "gateway" / "site"
        installed = {spec.name for spec in options.services if spec.executable()}
        write_landing_page(site, options.services, installed)
        gateway_services = [spec for spec in options.services if spec.name in installed]
        config = render_gateway_config(port=options.gateway_port, services=gateway_services, site_root=site)
        started.append(NginxServer(data / "gateway", config, port=options.gateway_port).start())
        urls = BackingUrls(
            postgres_dsn=postgres.dsn,
            redis_shared=redis_servers["shared"].url,
            redis_db_g1=redis_servers["db_g1"].url,
            redis_db_g2=redis_servers["db_g2"].url,
        )
        return asyncio.run(_main(options, urls, supervisor))
    finally:
        for backing_server in reversed(started):
            backing_server.stop()
        supervisor.say("fleet", "stopped")


async def _main(options: FleetOptions, urls: BackingUrls, supervisor: Supervisor) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(_run(options, urls, supervisor, stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({runner, stopped}, return_when=asyncio.FIRST_COMPLETED)
    supervisor.say("fleet", "stopping")
    await supervisor.stop_all()
    if not runner.done():
        runner.cancel()
    stopped.cancel()
    try:
        await runner
    except asyncio.CancelledError:
        return 0
    except Exception as error:
        supervisor.say("fleet", f"failed: {type(error).__name__}: {error}", "31")
        return 1
    return 0
