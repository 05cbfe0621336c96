"""`capstore serve --mode cp|ap`, `capstore check --deploy` (servicekit) and `capstore backup`."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import redis.asyncio as redis
from servicekit.cli import service_cli

from capstore.backup import BackupInfo, backup_node
from capstore.config import NODE_IDS, Settings, fault_admin_check
from capstore.node import RedisNode

__all__ = ["main"]

main = service_cli(
    "capstore",
    settings_factory=Settings,
    app_factory_path="capstore.app:asgi",
    extra_checks=[fault_admin_check],
    help_text="capstore: the CAP trade-off as a replicated key-value service (app_cp and app_ap).",
)

# servicekit's serve has no --mode: wrap it. MODE goes through the environment because production
# workers build their own Settings from it.
_serve = main.commands["serve"]
_serve_callback: Callable[..., Any] = _serve.callback  # type: ignore[assignment]


def _serve_with_mode(mode: str | None, **options: Any) -> None:
    if mode is not None:
        os.environ["MODE"] = mode
    _serve_callback(**options)


_serve.params.insert(
    0,
    click.Option(
        ["--mode"],
        type=click.Choice(["cp", "ap"]),
        default=None,
        help="cp (app_cp, port 5001) or ap (app_ap, port 5002); default: MODE.",
    ),
)
_serve.callback = _serve_with_mode
_serve.help = "Serve app_cp or app_ap (uvicorn in development, gunicorn in production)."


async def _data_dir(url: str, timeout_s: float) -> Path:
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        reply: dict[Any, Any] = await client.config_get("dir")
    finally:
        await client.aclose()
    directory = reply.get("dir") or reply.get(b"dir")
    if not directory:
        raise RuntimeError("the node did not report its data directory (CONFIG GET dir); pass --data-dir")
    return Path(directory.decode() if isinstance(directory, bytes) else directory)


async def _backup(settings: Settings, nodes: list[str], dest: Path, data_dir: Path | None) -> list[BackupInfo]:
    infos = []
    urls = {"db_g1": settings.DB_G1_URL, "db_g2": settings.DB_G2_URL}
    for node_id in nodes:
        node = RedisNode(node_id, urls[node_id], timeout_s=max(settings.NETWORK_TIMEOUT_SEC, 2.0))
        try:
            directory = data_dir or await _data_dir(urls[node_id], max(settings.NETWORK_TIMEOUT_SEC, 2.0))
            infos.append(await backup_node(node, directory, dest))
        finally:
            await node.close()
    return infos


@main.command("backup", help="BGSAVE each node and copy its RDB into DEST (the node's data dir must be local).")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--node", "node", type=click.Choice([*NODE_IDS, "all"]), default="all", show_default=True)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
    help="the node's data directory as seen from here (default: asked from the node, CONFIG GET dir)",
)  # fmt: skip
def backup_command(dest: Path, node: str, data_dir: Path | None) -> None:
    settings = Settings()
    nodes = list(NODE_IDS) if node == "all" else [node]
    if data_dir is not None and len(nodes) > 1:
        raise click.BadParameter("--data-dir names one node's directory: use it with --node")
    try:
        infos = asyncio.run(_backup(settings, nodes, dest, data_dir))
    except Exception as error:
        click.echo(f"backup failed: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    for info in infos:
        click.echo(f"{info.path}\t{info.size_bytes} bytes\trecovery point {info.saved_at:.3f}")


if __name__ == "__main__":
    main()
