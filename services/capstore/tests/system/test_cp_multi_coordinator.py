"""Two CP coordinators (two app_cp instances: own clocks, own connections, own fault proxies) over
the same two nodes, concurrent clients on both, contended keys, partial partitions (one coordinator
cut from a node while the other still reaches it), delays past the timeout, and kill -9 + restart
of a redis-server: the combined history is linearizable."""

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
CLIENTS_PER_COORDINATOR = 3
KEYS = ["x", "y", "z"]  # few keys: the two coordinators' writes race on them all the time
SKEW_MS = (0, -40)  # the second coordinator's wall clock runs behind: its fresh versions are older


async def test_two_cp_coordinators_under_faults_stay_linearizable(redis_server_factory: Any) -> None:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    proxies: list[list[FaultProxy]] = []
    coordinators: list[CPCoordinator] = []
    for c, skew in enumerate(SKEW_MS):
        links = [await FaultProxy("127.0.0.1", s.port, name=f"cp{c}->g{i + 1}").start() for i, s in enumerate(servers)]
        nodes = [RedisNode(f"g{i + 1}", p.url, timeout_s=0.25) for i, p in enumerate(links)]
        clock = HybridClock(f"cp{c}", wall_ms=lambda skew=skew: time.time_ns() // 1_000_000 + skew)
        proxies.append(links)
        coordinators.append(CPCoordinator(nodes[0], [nodes[1]], clock))
    recorder = HistoryRecorder()
    outcomes: dict[str, int] = defaultdict(int)
    faults_applied: list[str] = []
    stop = asyncio.Event()

    async def client(process: int, coordinator: CPCoordinator) -> None:
        rng = random.Random(process)
        sequence = 0
        while not stop.is_set():
            key = rng.choice(KEYS)
            if rng.random() < 0.5:
                value = f"p{process}-{sequence}"
                sequence += 1
                label, ack = await recorded_cp_write(recorder, process, coordinator, key, value)
                outcomes[f"{label} cp{process // 10}" if ack is not None else label] += 1
            else:
                outcomes[await recorded_cp_read(recorder, process, coordinator, key)] += 1
            await asyncio.sleep(rng.uniform(0.0, 0.004))

    async def nemesis() -> None:
        rng = random.Random(4)
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            node = rng.randrange(2)
            fault = rng.choice(["drop", "blackhole", "delay", "kill"])
            if fault == "kill":
                faults_applied.append(f"kill -9 g{node + 1}")
                servers[node].kill()
                await asyncio.sleep(0.15)
                await asyncio.to_thread(servers[node].start)
                continue
            # A partial partition: only one coordinator loses (or slows on) its link to the node.
            link = proxies[rng.randrange(2)][node]
            faults_applied.append(f"{fault} {link.name}")
            if fault == "delay":
                await link.delay(rng.choice([30, 400]))  # 400 ms > the 250 ms timeout: unknown outcomes
            else:
                await link.set_mode(fault)
            await asyncio.sleep(rng.uniform(0.15, 0.4))
            await link.pass_through()

    try:
        tasks = [
            asyncio.create_task(client(c * 10 + n, coordinator))
            for c, coordinator in enumerate(coordinators)
            for n in range(CLIENTS_PER_COORDINATOR)
        ]
        chaos = asyncio.create_task(nemesis())
        await asyncio.sleep(CHAOS_S)
        stop.set()
        await chaos
        await asyncio.gather(*tasks)

        operations = recorder.operations(is_read=lambda inp: inp.op == "get")
        result = check_operations(KVModel(), operations, timeout_s=120)
        print(
            f"\ntwo CP coordinators: {len(operations)} ops ({dict(outcomes)}), "
            f"{sum(op.unknown for op in operations)} unknown, faults {len(faults_applied)}: {faults_applied}\n"
            f"checker: {result.verdict} on {result.operations} ops / {result.partitions} keys "
            f"in {result.elapsed_s:.3f}s"
        )
        assert outcomes["write ok cp0"] > 30
        assert outcomes["write ok cp1"] > 30
        assert outcomes["read ok"] > 60
        assert outcomes["write not_applied"] + outcomes["write unknown"] > 0, "the faults never bit"
        assert any(f.startswith("kill") for f in faults_applied)
        assert result.verdict is CheckVerdict.OK, result.illegal_partition[:20]
        # Not vacuous: the same history with one successful read falsified is refused.
        index = next(i for i, op in enumerate(operations) if op.input.op == "get" and op.output is not None)
        falsified = [*operations]
        falsified[index] = dataclasses.replace(operations[index], output="never-written")
        assert check_operations(KVModel(), falsified, timeout_s=60).verdict is CheckVerdict.ILLEGAL
    finally:
        for coordinator in coordinators:
            for node in coordinator.nodes:
                await node.close()
        for links in proxies:
            for link in links:
                await link.stop()
