"""CP mode under random partitions, delays, black holes, kills and restarts: every recorded history
is linearizable and no acknowledged write is lost (AOF on)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import defaultdict
from typing import Any

import pytest
from capstore.cp import CPCoordinator
from capstore.faults import FaultProxy
from capstore.history import HistoryRecorder, recorded_cp_read, recorded_cp_write
from capstore.linearizability import CheckVerdict, KVModel, check_operations
from capstore.node import RedisNode
from capstore.versioning import HybridClock

pytestmark = [pytest.mark.redis, pytest.mark.slow]

CHAOS_S = 6.0
CLIENTS = 4
KEYS = [f"k{i}" for i in range(6)]


async def test_cp_is_linearizable_and_loses_no_acknowledged_write(redis_server_factory: Any) -> None:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    proxies = [await FaultProxy("127.0.0.1", s.port, name=f"app->{s.directory.name}").start() for s in servers]
    nodes = [RedisNode(f"g{i + 1}", p.url, timeout_s=0.25) for i, p in enumerate(proxies)]
    coordinator = CPCoordinator(nodes[0], [nodes[1]], HybridClock("cp"))
    recorder = HistoryRecorder()
    acked: dict[str, list[tuple[str, str]]] = defaultdict(list)
    outcomes: dict[str, int] = defaultdict(int)
    faults_applied: list[str] = []
    stop = asyncio.Event()

    async def client(cid: int) -> None:
        rng = random.Random(cid)
        sequence = 0
        while not stop.is_set():
            key = rng.choice(KEYS)
            if rng.random() < 0.5:
                value = f"c{cid}-{sequence}"
                sequence += 1
                label, ack = await recorded_cp_write(recorder, cid, coordinator, key, value)
                outcomes[label] += 1
                if ack is not None:
                    acked[key].append((ack.version, value))
            else:
                outcomes[await recorded_cp_read(recorder, cid, coordinator, key)] += 1
            await asyncio.sleep(rng.uniform(0.001, 0.006))

    async def restart(index: int) -> None:
        servers[index].kill()
        await asyncio.sleep(0.2)
        await asyncio.to_thread(servers[index].start)

    async def nemesis() -> None:
        rng = random.Random(2026)
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.15, 0.4))
            target = rng.randrange(2)
            fault = rng.choice(["drop", "blackhole", "delay", "kill", "pause"])
            faults_applied.append(f"{fault} g{target + 1}")
            if fault == "kill":
                await restart(target)
                continue
            if fault == "pause":
                servers[target].pause()
            elif fault == "delay":
                await proxies[target].delay(rng.choice([20, 400]))  # 400 ms > the 250 ms timeout
            else:
                await proxies[target].set_mode(fault)
            await asyncio.sleep(rng.uniform(0.2, 0.5))
            if fault == "pause":
                servers[target].resume()
            else:
                await proxies[target].pass_through()

    try:
        tasks = [asyncio.create_task(client(c)) for c in range(CLIENTS)]
        chaos = asyncio.create_task(nemesis())
        await asyncio.sleep(CHAOS_S)
        stop.set()
        await chaos
        await asyncio.gather(*tasks)
        for proxy in proxies:
            await proxy.pass_through()
        for server in servers:
            server.resume()

        operations = recorder.operations(is_read=lambda inp: inp.op == "get")
        result = check_operations(KVModel(), operations, timeout_s=60)
        unknown = sum(op.unknown for op in operations)
        print(
            f"\nCP chaos: {len(recorder.entries)} ops ({dict(outcomes)}), {unknown} unknown, "
            f"faults {len(faults_applied)}: {faults_applied}\n"
            f"checker: {result.verdict} on {result.operations} ops / {result.partitions} keys "
            f"in {result.elapsed_s:.3f}s"
        )
        assert outcomes["write ok"] > 100
        assert outcomes["read ok"] > 100
        assert outcomes["write not_applied"] + outcomes["write unknown"] > 0, "the faults never bit"
        assert result.verdict is CheckVerdict.OK, result.illegal_partition[:20]
        # The same history with one read falsified must be caught: the check above is not vacuous.
        index = next(i for i, op in enumerate(operations) if op.input.op == "get" and op.output is not None)
        falsified = [*operations]
        falsified[index] = dataclasses.replace(operations[index], output="never-written")
        assert check_operations(KVModel(), falsified, timeout_s=60).verdict is CheckVerdict.ILLEGAL

        # Crash both nodes (SIGKILL) and restart them from their AOF: every acknowledged write is
        # still there on every node (or a newer one is, from a later or unknown-outcome write).
        await asyncio.sleep(0.05)
        for index in (0, 1):
            servers[index].kill()
            servers[index].start()
        direct = [RedisNode(f"g{i + 1}", s.url) for i, s in enumerate(servers)]
        started = time.monotonic()
        for key, writes in acked.items():
            newest_version, newest_value = max(writes)
            for node in direct:
                record, _ = await node.read(key)
                assert record is not None, f"{key} lost on {node.node_id}"
                assert record.version >= newest_version, f"{key}: acknowledged {newest_version} lost on {node.node_id}"
                if record.version == newest_version:
                    assert record.value == newest_value
        print(
            f"after kill -9 of both nodes: {sum(map(len, acked.values()))} acknowledged writes checked "
            f"in {time.monotonic() - started:.2f}s, none lost"
        )
        for node in direct:
            await node.close()
    finally:
        for node in nodes:
            await node.close()
        for proxy in proxies:
            await proxy.stop()
