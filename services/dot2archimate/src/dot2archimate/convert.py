"""One call from DOT / terraform text to ArchiMate files plus report: what the CLI and the app use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from .archimate.model import Model
from .budget import Deadline
from .dot.graph import Graph
from .dot.parser import parse_dot
from .layout import LayoutOptions
from .limits import Limits
from .mapping import ExplainEntry, ValidationReport, map_graph
from .rules import RuleSet, builtin_rules
from .terraform import TerraformFormat, detect_format, normalize_terraform
from .validate import xsd_errors
from .views import DEFAULT_MAX_VIEW_NODES, add_views
from .writers.archi import archi_xml
from .writers.csv import archi_csv
from .writers.exchange import exchange_xml

__all__ = ["OUTPUT_FORMATS", "ConversionResult", "ConvertOptions", "convert", "convert_async"]

OutputFormat = Literal["xml", "archimate", "csv"]
OUTPUT_FORMATS: tuple[str, ...] = ("xml", "archimate", "csv")


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    output_format: OutputFormat = "xml"
    input_kind: Literal["auto", "dot", "terraform"] = "auto"
    rules: RuleSet | None = None  # None: built-in `default`, or `terraform` for terraform input
    layout: LayoutOptions | None = field(default_factory=LayoutOptions)  # None: no Graphviz (grid)
    max_view_nodes: int = DEFAULT_MAX_VIEW_NODES  # larger models are split into several views
    time_limit_s: float | None = None  # total budget for parse + map + layout + write; None: no limit
    validate: bool = True
    limits: Limits = field(default_factory=Limits)
    namespace: str | None = None  # ID namespace; default: the graph's name
    include_variables: bool = False  # terraform variables/locals/outputs as elements
    lang: str = "en"


@dataclass(slots=True)
class ConversionResult:
    graph: Graph
    model: Model
    report: ValidationReport
    explain: list[ExplainEntry]
    files: dict[str, bytes]  # file name -> content (several for csv)
    input_kind: str
    terraform_format: TerraformFormat | None = None

    @property
    def output(self) -> bytes:
        """The single output file (xml, archimate); for csv use `files`."""
        if len(self.files) != 1:
            raise ValueError("this format produces several files; use .files")
        return next(iter(self.files.values()))


def convert(
    source: str | bytes,
    options: ConvertOptions | None = None,
    *,
    stem: str = "model",
    deadline: Deadline | None = None,
) -> ConversionResult:
    """Parse, map, lay out, write and validate. Raises only `Dot2ArchimateError` subclasses on bad input.

    The whole call stays inside `options.time_limit_s` (or the caller's `deadline`, when it also
    has work of its own to fit in), else raises `TimeBudgetExceededError`.
    """
    opts = options or ConvertOptions()
    if opts.max_view_nodes < 1:
        raise ValueError("max_view_nodes must be at least 1")
    budget = deadline or Deadline(opts.time_limit_s)
    graph = parse_dot(source, opts.limits, deadline=budget)
    kind = "dot"
    tf_format = None
    if opts.input_kind == "terraform" or (opts.input_kind == "auto" and detect_format(graph) is not None):
        graph, tf_format = normalize_terraform(graph, include_variables=opts.include_variables)
        kind = "terraform"
    rules = opts.rules or builtin_rules("terraform" if kind == "terraform" else "default")
    namespace = opts.namespace if opts.namespace is not None else graph.name
    result = map_graph(graph, rules, namespace=namespace, deadline=budget)
    model = result.model
    report = result.report
    report.input = {
        "kind": kind,
        "terraform_format": tf_format.value if tf_format else None,
        "graph": graph.name,
        "directed": graph.directed,
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
        "clusters": len(graph.clusters()),
    }
    report.layout = add_views(
        model, result, opts.layout, namespace, max_view_nodes=opts.max_view_nodes, deadline=budget
    )

    xml: bytes | None = None
    files: dict[str, bytes] = {}
    if opts.output_format == "xml" or opts.validate:
        xml = exchange_xml(model, lang=opts.lang)
        budget.check("write")
    if opts.output_format == "xml":
        assert xml is not None
        files[f"{stem}.xml"] = xml
    elif opts.output_format == "archimate":
        files[f"{stem}.archimate"] = archi_xml(model)
    elif opts.output_format == "csv":
        files.update(archi_csv(model))
    else:
        raise ValueError(f"unknown output format {opts.output_format!r}")
    budget.check("write")
    if opts.validate:
        assert xml is not None
        errors = xsd_errors(xml)
        budget.check("validate")
        report.xsd = {"checked": True, "valid": not errors, "errors": errors[:50]}
    return ConversionResult(graph, model, report, result.explain, files, kind, tf_format)


async def convert_async(
    source: str | bytes, options: ConvertOptions | None = None, *, stem: str = "model"
) -> ConversionResult:
    """`convert` in a worker thread (Graphviz runs as a subprocess; parsing is CPU-bound).

    Give `options.time_limit_s`: the thread stops itself when the budget is spent.
    """
    return await asyncio.to_thread(convert, source, options, stem=stem)
