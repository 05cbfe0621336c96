"""AP mode under the same faults: every request is answered, read-your-writes holds with the session
token, staleness is reported, all nodes converge after heal — and histories are not linearizable."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import defaultdict
from typing import Any

import pytest
from capstore.ap import APCoordinator
from capstore.errors import CannotHonourSession, NoNodeAvailable
from capstore.faults import FaultProxy
from capstore.history import HistoryRecorder, KVInput
from capstore.linearizability import CheckVerdict, KVModel, check_operations
from capstore.node import RedisNode
from capstore.session import SessionSigner
from capstore.versioning import HybridClock

pytestmark = [pytest.mark.redis]

SECRET = "system-test-secret-0123456789abcdef"
MAX_STALENESS_MS = 250.0
CONVERGENCE_BOUND_S = 3.0


class Site:
    """An app instance: its own proxies to both nodes, its coordinator (local node first)."""

    def __init__(self, name: str, local: int, servers: list[Any]) -> None:
        self.name, self.local, self.servers = name, local, servers

    async def start(self, **options: Any) -> Site:
        self.proxies = [
            await FaultProxy("127.0.0.1", s.port, name=f"{self.name}->g{i + 1}").start()
            for i, s in enumerate(self.servers)
        ]
        nodes = [RedisNode(f"g{i + 1}", p.url, timeout_s=0.25) for i, p in enumerate(self.proxies)]
        self.coordinator = APCoordinator(
            [nodes[self.local], nodes[1 - self.local]],
            HybridClock(self.name),
            SessionSigner(SECRET),
            max_staleness_ms=MAX_STALENESS_MS,
            anti_entropy_interval_s=0.5,
            **options,
        )
        await self.coordinator.start()
        return self

    async def heal(self) -> None:
        for proxy in self.proxies:
            await proxy.pass_through()

    async def close(self) -> None:
        await self.coordinator.stop()
        for node in self.coordinator.nodes:
            await node.close()
        for proxy in self.proxies:
            await proxy.stop()


@pytest.fixture
async def sites(redis_server_factory: Any) -> Any:
    servers = [redis_server_factory(name, appendonly=True) for name in ("g1", "g2")]
    a = await Site("a", 0, servers).start()
    b = await Site("b", 1, servers).start()
    direct = [RedisNode(f"g{i + 1}", s.url) for i, s in enumerate(servers)]
    yield a, b, servers, direct
    await a.close()
    await b.close()
    for node in direct:
        await node.close()


async def time_to_converge(direct: list[RedisNode], bound_s: float) -> float:
    started = time.monotonic()
    for _ in range(int(bound_s / 0.005)):
        if await direct[0].snapshot() == await direct[1].snapshot():
            return time.monotonic() - started
        await asyncio.sleep(0.005)
    raise AssertionError(f"nodes still differ {bound_s}s after heal")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.slow
async def test_ap_stays_available_keeps_sessions_and_converges(sites: Any) -> None:
    a, b, servers, direct = sites
    recorder = HistoryRecorder()
    counts: dict[str, int] = defaultdict(int)
    staleness: list[float] = []
    ryw_violations: list[str] = []
    acked: dict[str, str] = {}
    stop = asyncio.Event()
    faults_applied: list[str] = []

    async def client(cid: int, site: Site) -> None:
        rng = random.Random(cid)
        session: str | None = None
        mine: dict[str, str] = {}
        sequence = 0
        while not stop.is_set():
            key = f"k{rng.randrange(6)}"
            if rng.random() < 0.5:
                value = f"c{cid}-{sequence}"
                sequence += 1
                op = recorder.invoke(cid, KVInput("put", key, value))
                try:
                    ack = await site.coordinator.write(key, value, session)
                except NoNodeAvailable:
                    counts["write unavailable"] += 1
                    op.unknown()
                else:
                    counts["write ok"] += 1
                    op.ok()
                    session, mine[key] = ack.session, ack.version
                    acked[key] = max(acked.get(key, ""), ack.version)
            else:
                op = recorder.invoke(cid, KVInput("get", key))
                try:
                    read = await site.coordinator.read(key, session)
                except NoNodeAvailable:
                    counts["read unavailable"] += 1
                    op.fail()
                except CannotHonourSession:
                    counts["read cannot honour session"] += 1
                    op.fail()
                else:
                    counts["read ok"] += 1
                    op.ok(read.value)
                    staleness.append(read.staleness_ms)
                    if key in mine and (read.version or "") < mine[key]:
                        ryw_violations.append(f"client {cid} read {key}@{read.version} after writing {mine[key]}")
            await asyncio.sleep(rng.uniform(0.001, 0.006))

    async def nemesis() -> None:
        rng = random.Random(7)
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            fault = rng.choice(["split", "isolate-a-local", "blackhole-b-local", "kill-g2", "pause-g1", "delay"])
            faults_applied.append(fault)
            if fault == "split":  # the two sites cannot see each other's node
                await a.proxies[1].drop()
                await b.proxies[0].drop()
            elif fault == "isolate-a-local":
                await a.proxies[0].drop()
            elif fault == "blackhole-b-local":
                await b.proxies[1].blackhole()
            elif fault == "kill-g2":
                servers[1].kill()
            elif fault == "pause-g1":
                servers[0].pause()
            else:
                await a.proxies[1].delay(80)
            await asyncio.sleep(rng.uniform(0.3, 0.7))
            if fault == "kill-g2":
                await asyncio.to_thread(servers[1].start)
            if fault == "pause-g1":
                servers[0].resume()
            await a.heal()
            await b.heal()

    tasks = [asyncio.create_task(client(c, a if c < 2 else b)) for c in range(4)]
    chaos = asyncio.create_task(nemesis())
    await asyncio.sleep(6.0)
    stop.set()
    await chaos
    await asyncio.gather(*tasks)
    await a.heal()
    await b.heal()
    converge_s = await time_to_converge(direct, CONVERGENCE_BOUND_S)

    stale_share = sum(s > MAX_STALENESS_MS for s in staleness) / len(staleness)
    history = recorder.operations(is_read=lambda inp: inp.op == "get")
    verdict = check_operations(KVModel(), history, timeout_s=30).verdict
    print(
        f"\nAP chaos: {dict(counts)}; faults {faults_applied}\n"
        f"staleness ms: p50 {percentile(staleness, 0.5):.0f}, p90 {percentile(staleness, 0.9):.0f}, "
        f"p99 {percentile(staleness, 0.99):.0f}, max {max(staleness):.0f}, "
        f"mean {statistics.fmean(staleness):.0f}; "
        f"{stale_share:.1%} of reads flagged stale (> {MAX_STALENESS_MS:.0f} ms)\n"
        f"converged {converge_s * 1000:.0f} ms after heal; history checker verdict: {verdict}"
    )
    # availability: every write was taken by some node, every read got an answer
    assert counts["write unavailable"] == 0
    assert counts["read unavailable"] == 0
    assert counts["write ok"] > 100
    assert counts["read ok"] > 100
    assert not ryw_violations, ryw_violations[:5]
    assert stale_share > 0, "partitions never showed up as staleness"
    # convergence kept every acknowledged write (or a newer one) on both nodes
    for node in direct:
        snapshot = await node.snapshot()
        for key, version in acked.items():
            assert snapshot[key].version >= version, f"{key}@{version} lost on {node.node_id}"


async def test_ap_history_through_a_partition_is_not_linearizable(sites: Any) -> None:
    """The trade-off, shown for real: during a partition both sides answer, and a read that starts
    after a write was acknowledged still returns the old value."""
    a, b, _, direct = sites
    recorder = HistoryRecorder()
    await a.coordinator.write("x", "0")
    await time_to_converge(direct, CONVERGENCE_BOUND_S)
    await a.proxies[1].drop()
    await b.proxies[0].drop()
    for round_ in range(1, 4):
        write = recorder.invoke(0, KVInput("put", "x", str(round_)))
        await a.coordinator.write("x", str(round_))
        write.ok()
        read = recorder.invoke(1, KVInput("get", "x"))
        answer = await b.coordinator.read("x")
        read.ok(answer.value)
        assert answer.value == "0"  # answered, but stale
    result = check_operations(KVModel(), recorder.operations())
    assert result.verdict is CheckVerdict.ILLEGAL
    await a.heal()
    await b.heal()
    await time_to_converge(direct, CONVERGENCE_BOUND_S)
    assert (await b.coordinator.read("x")).value == "3"
    # the same client pattern in CP terms (read after the acknowledged write sees it) is linearizable
    recorder = HistoryRecorder()
    write = recorder.invoke(0, KVInput("put", "x", "4"))
    await a.coordinator.write("x", "4")
    write.ok()
    await time_to_converge(direct, CONVERGENCE_BOUND_S)
    read = recorder.invoke(1, KVInput("get", "x"))
    read.ok((await b.coordinator.read("x")).value)
    assert check_operations(KVModel(missing=None), recorder.operations()).verdict is CheckVerdict.OK


async def test_healthy_staleness_stays_under_the_bound(sites: Any) -> None:
    """No faults: replication keeps every node within a few ms; reads report it and are not stale."""
    a, b, _, direct = sites
    samples: list[float] = []
    for i in range(300):
        await (a if i % 2 else b).coordinator.write(f"h{i % 20}", str(i))
        read = await (b if i % 2 else a).coordinator.read(f"h{i % 20}")
        samples.append(read.staleness_ms)
        assert not read.stale
    lag_started = time.monotonic()
    ack = await a.coordinator.write("probe", "p")
    for _ in range(1000):
        record, _ = await direct[1].read("probe")
        if record is not None and record.version == ack.version:
            break
        await asyncio.sleep(0.001)
    lag_ms = (time.monotonic() - lag_started) * 1000
    print(
        f"\nhealthy staleness ms: p50 {percentile(samples, 0.5):.1f}, p99 {percentile(samples, 0.99):.1f}, "
        f"max {max(samples):.1f} (bound {MAX_STALENESS_MS:.0f}); "
        f"write-to-peer replication lag {lag_ms:.1f} ms"
    )
    assert percentile(samples, 0.99) < MAX_STALENESS_MS
    assert lag_ms < 200


@pytest.mark.slow
async def test_nodes_converge_within_the_bound_after_a_long_partition(sites: Any) -> None:
    """Both sides keep writing through a 3 s partition (conflicting keys included); after heal the
    nodes hold identical data within CONVERGENCE_BOUND_S. The < 1 s speed target is measured by
    benchmarks/run.py (a timed assertion here only measured how loaded the CI machine was)."""
    a, b, _, direct = sites
    await a.proxies[1].drop()
    await b.proxies[0].drop()
    written = 0
    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        await a.coordinator.write(f"p{written % 400}", f"a{written}")
        await b.coordinator.write(f"p{(written + 200) % 400}", f"b{written}")
        written += 2
    assert await direct[0].snapshot() != await direct[1].snapshot()
    await a.heal()
    await b.heal()
    converge_s = await time_to_converge(direct, CONVERGENCE_BOUND_S)
    print(f"\n{written} writes during a 3 s partition; converged {converge_s * 1000:.0f} ms after heal")
    assert await direct[0].snapshot() == await direct[1].snapshot()
