"""Backups of a node: BGSAVE + copy of the RDB, and turning AOF back on after a restore.

Restoring: put the copied RDB as `dump.rdb` in a fresh data directory and start redis-server with
`appendonly no` (with AOF on, Redis would load — and create — an empty AOF and ignore the RDB), then
call `enable_aof` so the node is durable again, and switch its config to `appendonly yes`.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from capstore.errors import CapstoreError
from capstore.node import RedisNode

__all__ = ["BackupInfo", "backup_node", "enable_aof"]


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    saved_at: float
    """Unix time just before the BGSAVE (the recovery point: every write acknowledged before it is in
    the copy; LASTSAVE only has one-second resolution)."""
    size_bytes: int


async def backup_node(node: RedisNode, data_dir: Path, dest_dir: Path, *, dbfilename: str = "dump.rdb") -> BackupInfo:
    """BGSAVE, wait for it, and copy the RDB to `dest_dir/<node>-<UTC time>.rdb`."""
    started = time.time()  # the RDB is a fork-time snapshot taken after this: a safe recovery point
    await node.bgsave()
    source = data_dir / dbfilename
    if not await asyncio.to_thread(source.is_file):
        raise CapstoreError(f"BGSAVE finished but {source} does not exist (wrong data directory?)")
    await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = dest_dir / f"{node.node_id}-{stamp}.rdb"
    await asyncio.to_thread(shutil.copyfile, source, target)
    size = (await asyncio.to_thread(target.stat)).st_size
    return BackupInfo(target, started, size)


async def enable_aof(node: RedisNode, timeout_s: float = 60.0) -> None:
    """CONFIG SET appendonly yes on a restored node and wait until the AOF holds the dataset."""
    await node.config_set("appendonly", "yes")
    async with asyncio.timeout(timeout_s):
        while True:
            info = await node.info("persistence")
            if "aof_enabled:1" in info and "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
                return
            await asyncio.sleep(0.05)
