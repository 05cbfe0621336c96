"""Hostile inputs: script in labels, XXE and entity bombs in uploads, DOT bombs, file-reading attributes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dot2archimate import (
    ConvertOptions,
    GraphTooLargeError,
    Limits,
    UnsafeXmlError,
    convert,
    exchange_to_graph,
    parse_dot,
    render_svg,
    sanitize,
    to_dot,
)
from dot2archimate.errors import ArchimateFormatError, DotSyntaxError
from dot2archimate.layout import LayoutOptions, ViewSpec, _layout_dot
from lxml import etree

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'


@pytest.mark.parametrize("fmt", ["xml", "archimate"])
def test_script_in_labels_is_escaped_text(fmt: str, assert_xsd_valid: Any) -> None:
    esc = XSS.replace('"', '\\"')
    src = f'digraph "{esc}" {{ a [label="{esc}"]; a -> b [label="\\x01{esc}"] }}'
    result = convert(src, ConvertOptions(output_format=fmt, layout=None))  # type: ignore[arg-type]
    out = result.output
    assert b"<script>" not in out
    assert b"<img" not in out
    assert b"&lt;script&gt;" in out
    root = etree.fromstring(out)
    texts = [t for t in root.itertext()] + [v for el in root.iter() for v in el.attrib.values()]
    assert any(XSS in t for t in texts)  # the payload survives as inert text, not markup
    if fmt == "xml":
        assert_xsd_valid(out)


def test_control_characters_are_dropped_not_fatal(assert_xsd_valid: Any) -> None:
    result = convert('digraph { a [label="bell\x07 nul\x00 ok"] }', ConvertOptions(layout=None))
    assert_xsd_valid(result.output)
    assert b"bell nul ok" in result.output


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE model [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<model xmlns="http://www.opengroup.org/xsd/archimate/3.0/" identifier="m"><name>&xxe;</name></model>"""
BILLION = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<model xmlns="http://www.opengroup.org/xsd/archimate/3.0/" identifier="m"><name>&lol3;</name></model>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE model SYSTEM "http://127.0.0.1:9/evil.dtd"><model/>"""


@pytest.mark.parametrize("payload", [XXE, BILLION, EXTERNAL_DTD], ids=["xxe", "billion-laughs", "external-dtd"])
def test_uploaded_archimate_with_doctype_is_refused(payload: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        exchange_to_graph(payload)
    assert time.perf_counter() - started < 1


def test_uploaded_garbage_is_a_typed_error() -> None:
    with pytest.raises(UnsafeXmlError, match="not well-formed"):
        exchange_to_graph(b"<model><unclosed></model>")
    with pytest.raises(ArchimateFormatError, match="not an ArchiMate exchange model"):
        exchange_to_graph(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


def test_dot_bombs_are_refused_with_a_typed_error() -> None:
    limits = Limits(max_nodes=1000, max_edges=2000)
    many = "digraph { " + " ".join(f"n{i};" for i in range(1001)) + " }"
    with pytest.raises(GraphTooLargeError) as info:
        convert(many, ConvertOptions(limits=limits, layout=None))
    assert info.value.http_status == 413
    assert info.value.what == "nodes"
    group = " ".join(f"x{i}" for i in range(60))
    bomb = f"digraph {{ {{{group}}} -> {{{group}}} }}"  # 3,600 edges from 500 bytes
    with pytest.raises(GraphTooLargeError, match="edges"):
        convert(bomb, ConvertOptions(limits=limits, layout=None))
    with pytest.raises(GraphTooLargeError, match="input bytes"):
        convert(b"digraph {}" + b" " * 2000, ConvertOptions(limits=Limits(max_bytes=1000)))
    with pytest.raises(DotSyntaxError):
        convert(b"\x00\xff\xfe garbage", ConvertOptions(layout=None))


def test_file_reading_attributes_are_stripped_before_graphviz(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    src = (
        f'digraph {{ imagepath="{tmp_path}"; fontpath="{tmp_path}";'
        f' a [image="{secret}", shapefile="{secret}"];'
        f' b [label=<<table><tr><td><img src="{secret}"/></td></tr></table>>];'
        ' a -> b [URL="file:///etc/passwd"] }'
    )
    graph = parse_dot(src)
    clean, removed = sanitize(graph)
    assert {"image", "shapefile", "imagepath", "fontpath", "URL", "label"} <= removed
    text = to_dot(clean)
    assert str(secret) not in text
    assert str(tmp_path) not in text
    svg = render_svg(graph)
    assert b"<svg" in svg
    assert str(secret).encode() not in svg
    assert b"<image" not in svg
    # the layout input is built from opaque ids only: no user attribute ever reaches Graphviz
    result = convert(src)
    layout_text, _ = _layout_dot(
        ViewSpec("v", [vn.element for vn in result.model.views[0].nodes], {}, []), LayoutOptions(), "dot"
    )
    assert "image" not in layout_text
    assert str(tmp_path) not in layout_text


def test_hostile_rules_cannot_execute_yaml_tags(tmp_path: Path) -> None:
    from dot2archimate import RulesError, load_rules

    marker = tmp_path / "pwned"
    with pytest.raises(RulesError):
        load_rules(f"!!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()
