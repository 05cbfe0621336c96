"""pyArchimate (third-party reader) must read what we write, in both XML formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyArchimate  # a dev dependency, always installed
import pytest
from dot2archimate import ConvertOptions, convert

SHOP = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "shop.dot"


@pytest.mark.parametrize(("fmt", "suffix"), [("xml", ".xml"), ("archimate", ".archimate")])
def test_pyarchimate_reads_our_output(fmt: str, suffix: str, tmp_path: Path, assert_xsd_valid: Any) -> None:
    result = convert(SHOP.read_bytes(), ConvertOptions(output_format=fmt))  # type: ignore[arg-type]
    if fmt == "xml":
        assert_xsd_valid(result.output)
    path = tmp_path / f"shop{suffix}"
    path.write_bytes(result.output)
    model = pyArchimate.Model()
    model.read(str(path))
    ours = {e.id: (e.type, e.name) for e in result.model.elements}
    theirs = {e.uuid: (e.type, e.name) for e in model.elems_dict.values()}
    assert theirs == ours
    assert {r.uuid: (r.type, r.source.uuid, r.target.uuid) for r in model.rels_dict.values()} == {
        r.id: (r.type, r.source, r.target) for r in result.model.relationships
    }
    (view,) = model.views_dict.values()
    (our_view,) = result.model.views
    boxes = {}
    stack = list(view.nodes_dict.values())
    while stack:  # pyArchimate nests nodes like the view does; its x/y are absolute like ours
        n = stack.pop()
        boxes[n.ref] = (n.x, n.y, n.w, n.h)
        stack.extend(n.nodes_dict.values())
    assert boxes == {vn.element: (vn.x, vn.y, vn.w, vn.h) for vn in our_view.walk()}
