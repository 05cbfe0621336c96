"""The exported surface is what we mean it to be (the app layer imports from here)."""

from __future__ import annotations

import dot2archimate


def test_exports_are_explicit_and_importable() -> None:
    assert sorted(dot2archimate.__all__) == sorted(set(dot2archimate.__all__))
    for name in dot2archimate.__all__:
        assert getattr(dot2archimate, name) is not None
    expected = {
        "convert", "convert_async", "ConvertOptions", "ConversionResult", "parse_dot", "map_graph",
        "load_rules", "builtin_rules", "exchange_to_graph", "render_svg", "xsd_errors", "run_batch",
        "Dot2ArchimateError", "DotSyntaxError", "GraphTooLargeError", "UnsafeXmlError", "Limits",
        "LayoutOptions",
    }  # fmt: skip
    assert expected <= set(dot2archimate.__all__)


def test_every_error_has_an_http_status() -> None:
    errors = [getattr(dot2archimate, n) for n in dot2archimate.__all__ if n.endswith("Error")]
    assert all(issubclass(e, dot2archimate.Dot2ArchimateError) for e in errors)
    status = {e.__name__: e.http_status for e in errors}
    assert status["GraphTooLargeError"] == 413
    assert status["DotSyntaxError"] == 422
    assert status["SchemaValidationError"] == 500


async def test_convert_async_runs_off_the_event_loop() -> None:
    result = await dot2archimate.convert_async("digraph { a -> b }", dot2archimate.ConvertOptions(layout=None))
    assert [e.name for e in result.model.elements] == ["a", "b"]
    assert result.report.xsd["valid"] is True
