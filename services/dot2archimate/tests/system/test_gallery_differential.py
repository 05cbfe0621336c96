"""Differential test: our parser against Graphviz itself on the gallery shipped by graphviz-doc.

For every file, Graphviz's own reading (`dot -Tjson0`) and ours must agree on the node set, the
edge multiset (tail, head), the cluster set with each cluster's members, and the attributes we
store on nodes and edges.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dot2archimate.dot import parse_dot

GALLERY = Path("/usr/share/doc/graphviz/examples/graphs")
FILES = sorted(GALLERY.glob("*/*.gv")) + sorted(GALLERY.glob("*/*.gv.gz"))
# attributes Graphviz computes or rewrites during layout, not read from the file
LAYOUT_KEYS = {"pos", "width", "height", "bb", "lp", "xlp", "head_lp", "tail_lp", "rects", "_gvid"}
LAYOUT_KEYS |= {"lwidth", "lheight", "nodes", "edges", "subgraphs", "name", "tail", "head"}


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _graphviz(data: bytes) -> dict[str, Any]:
    out = subprocess.run(["dot", "-Tjson0"], input=data, capture_output=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_gallery_is_installed() -> None:
    # graphviz-doc is a required system package for this suite; an empty gallery would pass vacuously
    assert len(FILES) >= 60, f"apt-get install graphviz-doc (found {len(FILES)} files in {GALLERY})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_graph_as_graphviz(path: Path) -> None:
    data = _read(path)
    ref = _graphviz(data)
    ours = parse_dot(data)

    n_sub = ref.get("_subgraph_cnt", 0)
    objects = ref.get("objects", [])
    ref_nodes = [o["name"] for o in objects[n_sub:]]
    assert list(ours.nodes) == ref_nodes  # same set, same creation order

    names = {o["_gvid"]: o["name"] for o in objects}
    ref_edges = Counter((names[e["tail"]], names[e["head"]]) for e in ref.get("edges", []))
    assert Counter((e.tail, e.head) for e in ours.edges) == ref_edges

    ref_clusters = {o["name"]: {names[i] for i in o.get("nodes", [])} for o in objects[:n_sub] if "bb" in o}
    our_clusters = {c.name: set(c.nodes) for c in ours.clusters()}
    assert our_clusters == ref_clusters

    assert ours.directed == ref["directed"]
    assert ours.strict == ref["strict"]

    # attributes as read: every attribute we store must be what Graphviz stores
    for obj in objects[n_sub:]:
        mine = ours.nodes[obj["name"]].attrs
        for key, value in mine.items():
            if key not in LAYOUT_KEYS:
                assert obj.get(key) == value, (obj["name"], key)
    # Graphviz lists edges per tail node; parallel edges keep creation order in both
    ref_by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in ref.get("edges", []):
        ref_by_pair.setdefault((names[e["tail"]], names[e["head"]]), []).append(e)
    seen: Counter[tuple[str, str]] = Counter()
    for edge in ours.edges:
        pair = (edge.tail, edge.head)
        ref_edge = ref_by_pair[pair][seen[pair]]
        seen[pair] += 1
        for key, value in edge.attrs.items():
            if key not in LAYOUT_KEYS:
                assert ref_edge.get(key) == value, (edge.tail, edge.head, key)
