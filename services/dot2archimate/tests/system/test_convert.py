"""End to end: DOT/terraform -> ArchiMate files, laid out by the real Graphviz, checked by the XSDs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from dot2archimate import ConvertOptions, LayoutOptions, builtin_rules, convert, load_rules, xsd_errors
from dot2archimate.layout import ViewSpec, layout_view
from lxml import etree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "golden"
UPDATE = os.environ.get("DOT2ARCHIMATE_UPDATE_GOLDEN") == "1"
NS = {"a": "http://www.opengroup.org/xsd/archimate/3.0/", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from the golden file (DOT2ARCHIMATE_UPDATE_GOLDEN=1)"


@pytest.mark.parametrize(
    ("source", "stem"),
    [(GOLDEN / "shop.dot", "shop"), (FIXTURES / "terraform" / "v0_15_aws.dot", "aws")],
)
def test_golden_mapping_and_xml(source: Path, stem: str, assert_xsd_valid: Any) -> None:
    """Layout-free output (grid packing) so the golden bytes do not depend on the Graphviz version."""
    result = convert(source.read_bytes(), ConvertOptions(layout=None), stem=stem)
    assert_xsd_valid(result.output)
    golden(f"{stem}.xml", result.output)
    explain = json.dumps([e.to_dict() for e in result.explain], indent=1, ensure_ascii=False)
    golden(f"{stem}.explain.json", explain.encode())
    golden(f"{stem}.report.json", json.dumps(result.report.to_dict(), indent=1).encode())


def test_output_is_byte_identical_across_runs(assert_xsd_valid: Any) -> None:
    src = (GOLDEN / "shop.dot").read_bytes()
    first = convert(src)
    second = convert(src)
    assert_xsd_valid(first.output)
    assert first.output == second.output
    for fmt in ("archimate", "csv"):
        a = convert(src, ConvertOptions(output_format=fmt))  # type: ignore[arg-type]
        b = convert(src, ConvertOptions(output_format=fmt))  # type: ignore[arg-type]
        assert a.files == b.files


def _boxes(xml: bytes) -> tuple[etree._Element, dict[str, tuple[int, int, int, int]]]:
    root = etree.fromstring(xml)
    boxes = {}
    for node in root.iterfind(".//a:view//a:node", NS):
        boxes[node.get("identifier")] = tuple(int(node.get(k)) for k in ("x", "y", "w", "h"))
    return root, boxes


def test_graphviz_layout_nests_groupings_and_routes_edges(assert_xsd_valid: Any) -> None:
    result = convert((GOLDEN / "shop.dot").read_bytes())
    assert_xsd_valid(result.output)
    assert result.report.layout[0]["engine"] == "dot"
    root, boxes = _boxes(result.output)
    for node in root.iterfind(".//a:view//a:node", NS):
        x, y, w, h = boxes[node.get("identifier")]
        assert min(x, y) >= 0
        assert min(w, h) > 0
        for child in node.iterfind("a:node", NS):
            cx, cy, cw, ch = boxes[child.get("identifier")]
            assert x <= cx
            assert y <= cy
            assert cx + cw <= x + w
            assert cy + ch <= y + h
    # leaves do not overlap
    leaves = [boxes[n.get("identifier")] for n in root.iterfind(".//a:view//a:node", NS) if len(n) == 0]
    for i, (x, y, w, h) in enumerate(leaves):
        for x2, y2, w2, h2 in leaves[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    bends = root.findall(".//a:connection/a:bendpoint", NS)
    assert bends, "Graphviz splines with interior points become bendpoints"
    assert all(int(b.get("x")) >= 0 and int(b.get("y")) >= 0 for b in bends)
    # every non-membership relationship is drawn
    membership = {r.id for r in result.model.relationships if r.properties.get("dot:membership") == "true"}
    drawn = {c.get("relationshipRef") for c in root.iterfind(".//a:connection", NS)}
    assert drawn == {r.id for r in result.model.relationships} - membership


def test_large_graph_is_split_into_views(assert_xsd_valid: Any) -> None:
    body = (
        "; ".join(f"n{i} -> n{i + 1}" for i in range(0, 70))
        + "; subgraph cluster_big { "
        + " ".join(f"c{i}" for i in range(45))
        + " }"
    )
    opts = ConvertOptions(layout=LayoutOptions(engine="dot"), max_view_nodes=20)
    result = convert(f"digraph big {{ {body} }}", opts)
    assert_xsd_valid(result.output)
    views = result.model.views
    assert len(views) >= 6
    assert all(len([n for n in v.walk() if not n.children]) <= 20 for v in views)
    assert views[0].name.startswith("big (1/")
    seen = {vn.element for v in views for vn in v.walk() if not vn.children}
    assert len(seen) == 71 + 45  # every element lands on some view
    cluster_views = [v for v in views if any(vn.children for vn in v.walk())]
    assert len(cluster_views) == 3  # 45 cluster members in chunks of 20, each under its grouping


def test_layout_timeout_falls_back_to_sfdp_then_grid() -> None:
    spec = ViewSpec(
        "v", [f"e{i}" for i in range(300)], {}, [(f"r{i}", f"e{i}", f"e{(i * 7) % 300}") for i in range(300)]
    )
    placed = layout_view(spec, LayoutOptions(engine="dot", fallback_engine="sfdp", timeout_s=0.001))
    assert placed.engine == "grid"  # both engines timed out
    assert [n.split(":")[0] for n in placed.notes] == ["dot", "sfdp"]
    assert len(placed.bounds) == 300
    placed = layout_view(spec, LayoutOptions(engine="neato", fallback_engine="sfdp", timeout_s=20, memory_mb=1))
    assert placed.engine == "grid"
    assert "neato" in placed.notes[0]


def test_fallback_engine_is_used_when_the_first_times_out(assert_xsd_valid: Any) -> None:
    # a dense random-ish graph keeps `dot` busy far beyond 1 s; sfdp lays it out quickly
    edges = "; ".join(f"n{i} -> n{(i * 37 + 11) % 400}; n{i} -> n{(i * 91 + 3) % 400}" for i in range(400))
    opts = ConvertOptions(layout=LayoutOptions(engine="dot", timeout_s=1.0), max_view_nodes=400)
    result = convert(f"digraph {{ {edges} }}", opts)
    assert result.report.layout[0]["engine"] == "sfdp"
    assert result.report.layout[0]["notes"] == ["dot: timed out after 1 s"]
    assert_xsd_valid(result.output)


def test_terraform_input_uses_the_terraform_rule_set(assert_xsd_valid: Any) -> None:
    result = convert((FIXTURES / "terraform" / "v1_11_default.dot").read_bytes())
    assert_xsd_valid(result.output)
    assert result.input_kind == "terraform"
    assert result.terraform_format is not None
    assert result.report.rules == builtin_rules("terraform").label
    by_dot = {e.properties["dot:id"]: e for e in result.model.elements}
    assert by_dot["cluster_module.net"].type == "Grouping"
    assert by_dot["terraform_data.web"].type == "Artifact"
    assert by_dot["data.terraform_remote_state.shared"].properties["terraform:kind"] == "data"


def test_rules_file_overrides_and_explain_reports_it(assert_xsd_valid: Any) -> None:
    rules = load_rules("version: 1\nname: mine\nelements: [{id: all, element: Node}]\n")
    result = convert("digraph { a -> b }", ConvertOptions(rules=rules))
    assert_xsd_valid(result.output)
    assert {e.type for e in result.model.elements} == {"Node"}
    assert [x.rule for x in result.explain if x.kind == "element"] == ["all", "all"]


def test_archi_native_and_csv_outputs() -> None:
    src = (GOLDEN / "shop.dot").read_bytes()
    arch = convert(src, ConvertOptions(output_format="archimate")).output
    root = etree.fromstring(arch)
    assert root.tag == "{http://www.archimatetool.com/archimate}model"
    folders = {f.get("type") for f in root.iterfind("folder")}
    assert {"business", "application", "technology", "other", "relations", "diagrams"} <= folders
    # nested children use coordinates relative to their parent
    for parent in root.iterfind(".//child"):
        for child in parent.iterfind("child"):
            b = child.find("bounds")
            assert int(b.get("x")) >= 0
            assert int(b.get("y")) >= 0
    files = convert(src, ConvertOptions(output_format="csv")).files
    assert set(files) == {"elements.csv", "relations.csv", "properties.csv"}
    lines = files["elements.csv"].decode().splitlines()
    assert lines[0] == '"ID","Type","Name","Documentation","Specialization"'
    assert '"ArchimateModel","shop"' in lines[1]
    assert any('"BusinessActor","Customer"' in ln for ln in lines)
    assert files["relations.csv"].decode().splitlines()[0].endswith('"Source","Target","Specialization"')


def test_validate_catches_a_broken_document() -> None:
    good = convert("digraph { a -> b }").output
    broken = good.replace(b'xsi:type="Flow"', b'xsi:type="Uses"')
    assert xsd_errors(good) == []
    assert any("Uses" in e for e in xsd_errors(broken))
