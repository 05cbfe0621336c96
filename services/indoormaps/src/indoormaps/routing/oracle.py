"""A Python reference router (networkx Dijkstra) over the very same edge rows pgRouting reads.

Used by the parity tests and benchmarks: with tie-free costs (navmodel's epsilon) the shortest
path is unique, so pgRouting and this oracle must return the same node sequence.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from indoormaps.db import Database
from indoormaps.routing.model import PROFILE_EDGE_FILTER, Profile
from indoormaps.routing.paths import PathTable

__all__ = ["OracleRouter"]


@dataclass
class OracleRouter:
    graph: nx.DiGraph

    @classmethod
    async def load(cls, db: Database, version: int, profile: Profile) -> OracleRouter:
        sql = (
            "SELECT id, source_id, target_id, cost_s, reverse_cost_s FROM indoor_nav_edge "  # noqa: S608 - constant filter
            f"WHERE version_id = %s AND {PROFILE_EDGE_FILTER[profile]}"
        )
        async with db.read() as conn:
            cur = await conn.execute(sql, (version,))
            rows = await cur.fetchall()
        return cls.from_edges(rows)

    @classmethod
    def from_edges(cls, rows: Iterable[tuple[int, int, int, float, float]]) -> OracleRouter:
        graph = nx.DiGraph()

        def add(u: int, v: int, cost: float, edge: int) -> None:
            # Parallel edges: keep the cheaper one, as a shortest-path search effectively does.
            if cost < 0:
                return
            if not graph.has_edge(u, v) or cost < graph[u][v]["weight"]:
                graph.add_edge(u, v, weight=cost, edge=edge)

        for edge, source, target, cost, reverse_cost in rows:
            add(source, target, cost, edge)
            add(target, source, reverse_cost, edge)
        return cls(graph)

    def path_table(self, sources: Iterable[int], targets: Iterable[int]) -> PathTable:
        wanted = set(targets)
        table: dict[tuple[int, int], tuple[float, tuple[int, ...], tuple[int, ...]]] = {}
        for source in sorted(set(sources)):
            if source not in self.graph:
                continue
            dist, paths = nx.single_source_dijkstra(self.graph, source, weight="weight")
            for target in wanted:
                if target == source or target not in dist:
                    continue
                nodes = tuple(paths[target])
                edges = tuple(self.graph[u][v]["edge"] for u, v in itertools.pairwise(nodes))
                table[(source, target)] = (float(dist[target]), nodes, edges)
        return table
