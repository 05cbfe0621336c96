"""The total time budget per conversion (parse + map + layout + write), with real slow inputs: the
core stops itself, the web app answers 422 with a message and frees its worker, the CLI exits 1."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from dot2archimate import ConvertOptions, LayoutOptions, convert
from dot2archimate.errors import TimeBudgetExceededError
from dot2archimate.limits import Limits
from dot2archimate.web.errors import BusyError, error_status
from dot2archimate.web.service import ConversionRequest, Converter, WebResult
from dot2archimate.web.uploads import classify_upload

from .test_cli import run


def big_graph(nodes: int) -> str:
    """Many attributed nodes and edges: seconds of parsing, far beyond the budgets used here."""
    rng = random.Random(nodes)
    lines = [f'n{i} [label="Service {i}", shape=box, tooltip="t{i}"];' for i in range(nodes)]
    lines += [f"n{rng.randrange(nodes)} -> n{rng.randrange(nodes)} [label=calls];" for _ in range(2 * nodes)]
    return "digraph big {\n" + "\n".join(lines) + "\n}\n"


def dense_graph(nodes: int = 400) -> str:
    """Keeps Graphviz `dot` busy far longer than the budgets below."""
    return "digraph dense { " + " ".join(
        f"n{i} -> n{(i * 37 + 11) % nodes}; n{i} -> n{(i * 91 + 3) % nodes};" for i in range(nodes)
    ) + " }"  # fmt: skip


BIG = big_graph(40_000)


def test_parsing_stops_when_the_budget_is_spent() -> None:
    started = time.perf_counter()
    with pytest.raises(TimeBudgetExceededError) as caught:
        convert(BIG, ConvertOptions(layout=None, time_limit_s=0.2))
    assert caught.value.stage == "parse"
    assert "time budget of 0.2 s" in str(caught.value)
    assert time.perf_counter() - started < 3  # stopped early, not after the whole conversion


def test_layout_gets_only_what_is_left_of_the_budget() -> None:
    # per Graphviz run 60 s would be allowed; the 1.5 s conversion budget stops `dot` long before
    options = ConvertOptions(layout=LayoutOptions(engine="dot", timeout_s=60), max_view_nodes=400, time_limit_s=1.5)
    started = time.perf_counter()
    with pytest.raises(TimeBudgetExceededError) as caught:
        convert(dense_graph(), options)
    assert caught.value.stage == "layout"
    assert time.perf_counter() - started < 10


def test_a_generous_budget_changes_nothing(assert_xsd_valid: Any) -> None:
    text = "digraph ok { a -> b -> c }"
    plain = convert(text, ConvertOptions(layout=None))
    budgeted = convert(text, ConvertOptions(layout=None, time_limit_s=60))
    assert budgeted.output == plain.output
    assert_xsd_valid(budgeted.output)


async def test_web_answers_422_and_frees_the_worker(web_app: Any) -> None:
    browser = web_app(CONVERT_TIMEOUT=0.3, GUNICORN_THREADS=1, CONVERT_QUEUE_TIMEOUT=5, MAX_NODES=50_000,
                      MAX_EDGES=100_000, PREVIEW_MAX_NODES=0)  # fmt: skip
    slow = await browser.http.post("/api/convert?layout=false", content=BIG.encode(),
                                   headers={"content-type": "text/vnd.graphviz"})  # fmt: skip
    assert slow.status_code == 422
    body = slow.json()
    assert body["error"] == "time_budget_exceeded"
    assert "time budget of 0.3 s" in body["detail"]
    # the only conversion slot is free again: the next request is converted, not refused as busy
    quick = await browser.http.post("/api/convert?layout=false", content=b"digraph q { a -> b }",
                                    headers={"content-type": "text/vnd.graphviz"})  # fmt: skip
    assert quick.status_code == 200
    page = await browser.convert(text=BIG, options="1")
    assert page.status_code == 422
    assert "time budget of 0.3 s" in page.text


async def test_a_thread_that_overruns_is_answered_at_the_budget_and_keeps_its_slot() -> None:
    release = threading.Event()

    class Stuck(Converter):  # a stage that never checks the budget (say, a long C call)
        def _run(self, request: ConversionRequest, deadline: Any) -> WebResult:
            release.wait(30)
            raise TimeBudgetExceededError("stuck stage", self.time_budget)

    converter = Stuck(limits=Limits(), layout=LayoutOptions(), rules=None, concurrency=1, queue_timeout=0.2,
                      preview_max_nodes=0, time_budget=0.2, budget_grace=0.1)  # fmt: skip
    request = ConversionRequest(classify_upload(b"digraph { a }", None, 1024))
    started = time.perf_counter()
    with pytest.raises(TimeBudgetExceededError):
        await converter.run(request)
    assert time.perf_counter() - started < 2
    with pytest.raises(BusyError):  # the stuck thread still holds the only slot
        await converter.run(request)
    release.set()
    await asyncio.sleep(0.2)
    with pytest.raises(TimeBudgetExceededError):  # the slot came back when the thread ended
        await converter.run(request)


@pytest.mark.slow
def test_cli_convert_and_batch_enforce_the_time_limit(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "big.dot").write_text(BIG)
    (tmp_path / "in" / "small.dot").write_text("digraph small { a -> b }")
    single = run("convert", str(tmp_path / "in" / "big.dot"), "--no-layout", "--time-limit", "0.3")
    assert single.returncode == 1
    assert b"TimeBudgetExceededError" in single.stderr
    assert b"time budget of 0.3 s" in single.stderr
    batch = run("batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--no-layout", "--time-limit", "0.3",
                "--no-progress")  # fmt: skip
    assert batch.returncode == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    status = {f["input"]: (f["status"], f.get("error_type")) for f in summary["files"]}
    assert status == {"big.dot": ("error", "TimeBudgetExceededError"), "small.dot": ("ok", None)}


def test_views_are_split_by_max_view_nodes_without_layout_too(assert_xsd_valid: Any) -> None:
    body = "; ".join(f"n{i} -> n{i + 1}" for i in range(70)) + "; subgraph cluster_big { "
    body += " ".join(f"c{i}" for i in range(45)) + " }"
    result = convert(f"digraph big {{ {body} }}", ConvertOptions(layout=None, max_view_nodes=20))
    assert_xsd_valid(result.output)
    views = result.model.views
    assert len(views) >= 6
    assert all(len([n for n in v.walk() if not n.children]) <= 20 for v in views)
    assert {v.engine for v in views} == {"grid"}
    seen = {vn.element for v in views for vn in v.walk() if not vn.children}
    assert len(seen) == 71 + 45


async def test_web_splits_views_with_layout_off(web_app: Any) -> None:
    browser = web_app(MAX_VIEW_NODES=40, PREVIEW_MAX_NODES=0)
    text = "digraph big { " + " ".join(f"n{i} -> n{i + 1};" for i in range(119)) + " }"
    response = await browser.http.post("/api/convert?layout=false", content=text.encode(),
                                       headers={"content-type": "text/vnd.graphviz"})  # fmt: skip
    assert response.status_code == 200
    layout = response.json()["report"]["layout"]
    assert len(layout) == 3
    assert all(v["nodes"] <= 40 and v["engine"] == "grid" for v in layout)


def test_cli_splits_views_with_no_layout(tmp_path: Path) -> None:
    text = "digraph chain { " + " ".join(f"n{i} -> n{i + 1};" for i in range(59)) + " }"
    proc = run("convert", "-", "--no-layout", "--max-view-nodes", "20", "--report", str(tmp_path / "r.json"),
               stdin=text.encode())  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads((tmp_path / "r.json").read_text())["layout"]) == 3


def test_budget_exceeded_is_a_clear_422() -> None:
    assert error_status(TimeBudgetExceededError("map", 5)) == (422, "time_budget_exceeded")
