"""Backup and restore drill: BGSAVE + copy, restore into a fresh node, data equal, RPO measured."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from capstore.backup import backup_node, enable_aof
from capstore.node import RedisNode
from capstore.records import Record
from capstore.versioning import HybridClock

pytestmark = pytest.mark.redis


async def test_backup_restore_drill(redis_server_factory: Any, tmp_path: Path) -> None:
    live = redis_server_factory("g1", appendonly=True)
    node = RedisNode("g1", live.url)
    clock = HybridClock("g1")
    for i in range(200):
        await node.write(f"k{i}", Record(f"v{i}", clock.now().encode()), log=True)
    at_backup = await node.snapshot()
    backup = await backup_node(node, live.directory, tmp_path / "backups")
    assert backup.size_bytes > 0
    for i in range(200, 250):  # written after the backup: what a BGSAVE-only restore loses
        await node.write(f"k{i}", Record(f"v{i}", clock.now().encode()), log=True)
    full = await node.snapshot()
    await node.close()
    live.kill()
    disaster = time.time()

    # The pitfall: a node started with AOF on ignores the restored dump.rdb and comes up empty.
    (tmp_path / "wrong").mkdir()
    shutil.copyfile(backup.path, tmp_path / "wrong" / "dump.rdb")
    wrong = redis_server_factory("wrong", appendonly=True)
    wrong_node = RedisNode("g1", wrong.url)
    assert await wrong_node.snapshot() == {}
    await wrong_node.close()

    # The drill: restore with AOF off, check, then make it durable again.
    restore_started = time.monotonic()
    (tmp_path / "restored").mkdir()
    shutil.copyfile(backup.path, tmp_path / "restored" / "dump.rdb")
    restored = redis_server_factory("restored", appendonly=False)
    restored_node = RedisNode("g1", restored.url)
    assert await restored_node.snapshot() == at_backup
    await enable_aof(restored_node)
    rto_s = time.monotonic() - restore_started
    restored.kill()
    restored.appendonly = True
    restored.start()  # now from its own AOF
    assert await restored_node.snapshot() == at_backup
    assert len((await restored_node.log_since("0-0", 1000)).entries) == 200  # the replication log too
    await restored_node.close()

    rpo_s = disaster - backup.saved_at
    lost = len(full) - len(at_backup)
    # The live node's own AOF (everysec) survives the process kill with everything: RPO ~ 0.
    live.start()
    live_node = RedisNode("g1", live.url)
    assert await live_node.snapshot() == full
    await live_node.close()
    print(
        f"\nbackup drill: {backup.size_bytes} B RDB; "
        f"restore (copy + load + AOF rewrite) {rto_s * 1000:.0f} ms; "
        f"BGSAVE-only RPO {rpo_s:.2f}s = {lost} writes lost; live AOF restart lost 0 of {len(full)}"
    )
    assert lost == 50
    assert rpo_s < 300  # RPO < 5 min holds only while backups are taken more often than that
