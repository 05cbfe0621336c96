"""One conversion for the web: validated upload in, every download and preview out.

Each call builds everything it uses (parser, mapper, model, writers) from scratch; the only thing
shared between requests is the semaphore that bounds how many conversions run at once. Every
conversion has a total time budget (`CONVERT_TIMEOUT`): the worker thread checks it as it goes and
stops, and the request is answered at the budget (plus a short grace) even if a stage overruns.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

from ..budget import Deadline
from ..convert import ConversionResult, ConvertOptions, convert
from ..dot.writer import to_dot
from ..errors import Dot2ArchimateError, GraphTooLargeError, LayoutError, TimeBudgetExceededError
from ..layout import LayoutOptions
from ..limits import Limits
from ..preview import render_svg
from ..readback import exchange_to_graph
from ..rules import RuleSet
from ..views import DEFAULT_MAX_VIEW_NODES
from ..writers import archi_csv, archi_xml
from .errors import BusyError
from .svg import sanitize_svg, view_svg
from .uploads import Upload

__all__ = ["MAX_VIEW_IMAGES", "ConversionRequest", "Converter", "WebResult"]

MAX_VIEW_IMAGES = 20
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # fixed timestamps: same input, byte-identical zip

InputKind = Literal["auto", "dot", "terraform"]


@dataclass(frozen=True, slots=True)
class ConversionRequest:
    upload: Upload
    input_kind: InputKind = "auto"
    layout: bool = True
    drawings: bool = True  # view SVGs and the input preview (pages show them; the JSON API does not)


@dataclass(slots=True)
class WebResult:
    files: dict[str, bytes]  # storage name -> content
    summary: dict[str, Any]  # what the session record keeps about this result
    result: ConversionResult


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


class Converter:
    """Runs conversions in worker threads, at most `concurrency` at once per process."""

    def __init__(
        self,
        *,
        limits: Limits,
        layout: LayoutOptions,
        rules: RuleSet | None,
        concurrency: int,
        queue_timeout: float,
        preview_max_nodes: int,
        time_budget: float = 60.0,
        budget_grace: float = 2.0,  # how long past its budget a request waits for a thread still running
        max_view_nodes: int = DEFAULT_MAX_VIEW_NODES,
    ) -> None:
        self.limits = limits
        self.layout = layout
        self.rules = rules
        self.queue_timeout = queue_timeout
        self.preview_max_nodes = preview_max_nodes
        self.time_budget = time_budget
        self.budget_grace = budget_grace
        self.max_view_nodes = max_view_nodes
        self._slots = asyncio.Semaphore(concurrency)  # a thread past its budget keeps its slot until it stops

    async def run(self, request: ConversionRequest) -> WebResult:
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_timeout)
        except TimeoutError:
            raise BusyError("every conversion slot is busy; try again in a moment") from None
        deadline = Deadline(self.time_budget)
        work = asyncio.ensure_future(asyncio.to_thread(self._run, request, deadline))
        work.add_done_callback(self._finished)  # the slot is freed when the thread ends, not before
        try:
            return await asyncio.wait_for(asyncio.shield(work), timeout=self.time_budget + self.budget_grace)
        except TimeoutError:
            raise TimeBudgetExceededError("conversion", self.time_budget) from None

    def _finished(self, work: asyncio.Future[WebResult]) -> None:
        self._slots.release()
        if not work.cancelled():
            work.exception()  # retrieved: an error after the request gave up is not "never retrieved"

    def _run(self, request: ConversionRequest, deadline: Deadline) -> WebResult:
        started = time.perf_counter()
        upload = request.upload
        source: str | bytes = upload.data
        input_kind: InputKind = request.input_kind
        if upload.kind == "xml":
            graph = exchange_to_graph(upload.data)  # DOCTYPE/entities refused here
            if len(graph.nodes) > self.limits.max_nodes:
                raise GraphTooLargeError("nodes", self.limits.max_nodes, len(graph.nodes))
            source = to_dot(graph)
            input_kind = "dot"
            deadline.check("reading the exchange XML")
        options = ConvertOptions(
            output_format="xml",
            input_kind=input_kind,
            rules=self.rules,
            layout=self.layout if request.layout else None,
            max_view_nodes=self.max_view_nodes,
            validate=True,
            limits=self.limits,
        )
        result = convert(source, options, stem="model", deadline=deadline)
        files: dict[str, bytes] = {"model.xml": result.output}
        files["model.archimate"] = archi_xml(result.model)
        files["model-csv.zip"] = _zip(archi_csv(result.model))
        deadline.check("write")
        report = result.report.to_dict()
        files["report.json"] = json.dumps(report, indent=1, ensure_ascii=False).encode()
        files["explain.json"] = json.dumps([e.to_dict() for e in result.explain], indent=1, ensure_ascii=False).encode()
        preview_note = None
        if request.drawings:
            for i, view in enumerate(result.model.views[:MAX_VIEW_IMAGES]):
                files[f"view-{i}.svg"] = view_svg(result.model, view)
            deadline.check("drawing views")
            preview_note = self._preview(result, files, deadline)
        summary = {
            "name": upload.name,
            "stem": upload.stem,
            "upload_type": upload.kind,
            "input_kind": result.input_kind,
            "terraform_format": report["input"].get("terraform_format"),
            "valid": report["valid"],
            "xsd_valid": report["xsd"].get("valid"),
            "rules": report["rules"],
            "elements": report["counts"]["elements"],
            "relationships": report["counts"]["relationships"],
            "issues": report["counts"]["issues"],
            "views": [v.name for v in result.model.views],
            "view_images": min(len(result.model.views), MAX_VIEW_IMAGES) if request.drawings else 0,
            "preview": "input.svg" in files,
            "preview_note": preview_note,
            "seconds": round(time.perf_counter() - started, 3),
        }
        return WebResult(files=files, summary=summary, result=result)

    def _preview(self, result: ConversionResult, files: dict[str, bytes], deadline: Deadline) -> str | None:
        nodes = len(result.graph.nodes)
        if nodes > self.preview_max_nodes:
            return f"no input preview: {nodes} nodes (the preview is drawn up to {self.preview_max_nodes})"
        left = deadline.remaining()
        if left < 0.5:  # the model is done: skip the optional preview rather than fail the conversion
            return "no input preview: the time budget is spent"
        timeout = min(self.layout.timeout_s, 10.0, left)
        opts = LayoutOptions(engine="dot", timeout_s=timeout, memory_mb=self.layout.memory_mb)
        try:
            files["input.svg"] = sanitize_svg(render_svg(result.graph, opts))
        except (LayoutError, subprocess.TimeoutExpired, ValueError) as exc:
            reason = "timed out" if isinstance(exc, subprocess.TimeoutExpired) else "failed"
            return f"no input preview: Graphviz {reason}"
        except Dot2ArchimateError:
            return "no input preview"
        return None
