"""schemathesis against the app's own OpenAPI document: generated requests to every documented
operation, valid and invalid, never get a 5xx; statuses, content types and bodies are the documented
ones. Graph bodies come from a DOT strategy (real graphs, broken graphs, arbitrary text)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]

_IDS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True) | st.text(max_size=8).map(
    lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'
)  # fmt: skip


@st.composite
def dot_graphs(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["digraph", "graph", "strict digraph"]))
    op = "--" if kind == "graph" else "->"
    nodes = draw(st.lists(_IDS, min_size=1, max_size=12, unique=True))
    edges = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)), max_size=15))
    shape = draw(st.sampled_from(["box", "cylinder", "component", "ellipse"]))
    body = [f"{n} [shape={shape}, label={draw(_IDS)}];" for n in nodes]
    body += [f"{a} {op} {b};" for a, b in edges]
    if draw(st.booleans()):
        body = ["subgraph cluster_z { label=Zone;", *body[: len(nodes)], "}", *body[len(nodes) :]]
    return f"{kind} {draw(_IDS)} {{\n" + "\n".join(body) + "\n}\n"


GRAPH_BODIES = st.one_of(
    dot_graphs(),
    dot_graphs(),  # mostly whole graphs: the conversion itself is what must answer as documented
    dot_graphs().map(lambda text: text[: len(text) // 2]),  # cut off: a syntax error with line and column
    st.text(max_size=200),
).map(lambda text: text.encode("utf-8"))
schemathesis.openapi.media_type("text/vnd.graphviz", GRAPH_BODIES, aliases=["text/plain"])


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    from dot2archimate.app import create_app
    from dot2archimate.config import Settings

    data: Path = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(DATA_DIR=data, SECRET_KEY="s" * 40, ENABLE_REQUEST_LOGGING=False, MAX_UPLOAD_MB=1,
                        LAYOUT_TIMEOUT=2, CONVERT_TIMEOUT=10, PREVIEW_MAX_NODES=20,
                        ALLOWED_HOSTS=["testserver"])  # schemathesis' ASGI client's host  # fmt: skip
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(settings))


def test_every_api_route_is_documented(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {("POST", "/api/convert")}
    body = api_schema.raw_schema["paths"]["/api/convert"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "text/vnd.graphviz", "text/plain", "application/xml"} <= set(body)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_generated_requests_get_documented_answers_and_no_5xx(
    api_schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    statuses: set[int] = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            statuses.add(case.call_and_validate(checks=CHECKS).status_code)

        run()
    assert max(statuses) < 500
    if mode is schemathesis.GenerationMode.POSITIVE:
        assert {200, 422} <= statuses  # real conversions and refused input were both exercised
