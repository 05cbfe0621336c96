"""Input limits: every entry point takes one `Limits` so the app can size them per deployment."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds enforced while parsing and converting (raising `GraphTooLargeError`)."""

    max_bytes: int = 10 * 1024 * 1024
    max_nodes: int = 50_000
    max_edges: int = 100_000
    max_depth: int = 64  # subgraph nesting
    max_subgraphs: int = 20_000

    @classmethod
    def unlimited(cls) -> Limits:
        big = 2**62
        return cls(max_bytes=big, max_nodes=big, max_edges=big, max_depth=400, max_subgraphs=big)
