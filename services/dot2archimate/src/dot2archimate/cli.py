"""`dot2archimate` command line: convert, batch, rules check, and servicekit's serve / check --deploy."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .batch import BatchJob, run_batch
from .convert import OUTPUT_FORMATS, ConvertOptions, convert
from .errors import Dot2ArchimateError, RelationshipPolicyError
from .layout import ENGINES, LayoutOptions
from .limits import Limits
from .rules import BUILTIN_RULE_SETS, RuleSet, builtin_rules, load_rules
from .views import DEFAULT_MAX_VIEW_NODES

__all__ = ["main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3
DEFAULT_TIME_LIMIT_S = 300.0


def _load_rules(spec: str | None) -> tuple[RuleSet | None, bytes | None, str]:
    if spec is None:
        return None, None, ""
    if spec.startswith("builtin:") or spec in BUILTIN_RULE_SETS:
        name = spec.removeprefix("builtin:")
        return builtin_rules(name), None, f"builtin:{name}"
    path = Path(spec)
    text = path.read_bytes()
    return load_rules(text, origin=str(path)), text, str(path)


def _layout(no_layout: bool, engine: str, timeout: float, workers: int) -> LayoutOptions | None:
    if no_layout:
        return None
    return LayoutOptions(engine=engine, timeout_s=timeout, workers=workers)


def _time_limit(seconds: float) -> float | None:
    return seconds if seconds > 0 else None


_common = [
    click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="xml", show_default=True),
    click.option("--rules", "rules", metavar="R", help="rules YAML, or builtin:NAME"),
    click.option("--validate", is_flag=True, help="check the exchange XML against the ArchiMate XSDs"),
    click.option("--input", "input_kind", type=click.Choice(["auto", "dot", "terraform"]), default="auto",
                 show_default=True),
    click.option("--no-layout", is_flag=True, help="skip Graphviz; views get a grid layout"),
    click.option("--engine", type=click.Choice(sorted(ENGINES)), default="dot", show_default=True),
    click.option("--timeout", type=float, default=20.0, show_default=True, help="seconds per Graphviz run"),
    click.option("--max-view-nodes", type=click.IntRange(1), default=DEFAULT_MAX_VIEW_NODES, show_default=True,
                 help="larger models are split into several views (with or without layout)"),
    click.option("--time-limit", type=click.FloatRange(0), default=DEFAULT_TIME_LIMIT_S, show_default=True,
                 help="total seconds per conversion (parse, map, layout, write); 0: no limit"),
    click.option("--max-nodes", type=click.IntRange(1), default=Limits().max_nodes, show_default=True),
    click.option("--max-edges", type=click.IntRange(1), default=Limits().max_edges, show_default=True),
]  # fmt: skip


_Command = TypeVar("_Command", bound=Callable[..., Any])


def common_options(fn: _Command) -> _Command:
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


class _MainGroup(click.Group):
    """The domain commands plus servicekit's `serve` and `check`, built only when asked for:
    importing the web stack costs ~0.9 s that `convert` and `batch` should not pay."""

    _SERVICE_COMMANDS = ("serve", "check")

    @staticmethod
    def _service_group() -> click.Group:
        from servicekit.cli import service_cli

        from .config import Settings, web_checks

        return service_cli(
            "dot2archimate",
            settings_factory=Settings,
            app_factory_path="dot2archimate.app:asgi",
            extra_checks=[web_checks],
        )

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._SERVICE_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._SERVICE_COMMANDS:
            return self._service_group().get_command(ctx, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_MainGroup)
@click.version_option(package_name="dot2archimate")
def main() -> None:
    """DOT and terraform graphs to ArchiMate 3.2 (Open Group exchange XML, Archi .archimate, Archi CSV)."""


@main.command("convert")
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(), help="output file (csv: a directory); default stdout")
@click.option("--explain", is_flag=True, help="print which rule mapped each node and edge (stderr)")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="write the JSON report here")
@click.option("--namespace", help="namespace for deterministic IDs (default: the graph name)")
@common_options
def convert_cmd(
    source: str, output: str | None, explain: bool, report_path: str | None, namespace: str | None,
    fmt: str, rules: str | None, validate: bool, input_kind: str, no_layout: bool, engine: str,
    timeout: float, max_view_nodes: int, time_limit: float, max_nodes: int, max_edges: int,
) -> None:  # fmt: skip
    """Convert one DOT / terraform graph file (`-` reads stdin)."""
    try:
        ruleset, _, _ = _load_rules(rules)
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        opts = ConvertOptions(
            output_format=fmt,  # type: ignore[arg-type]
            input_kind=input_kind,  # type: ignore[arg-type]
            rules=ruleset,
            layout=_layout(no_layout, engine, timeout, 2),
            max_view_nodes=max_view_nodes,
            time_limit_s=_time_limit(time_limit),
            validate=validate,
            limits=Limits(max_nodes=max_nodes, max_edges=max_edges),
            namespace=namespace,
        )
        stem = "model" if source == "-" else (Path(source).stem or "model")
        result = convert(data, opts, stem=stem)
    except RelationshipPolicyError as exc:
        click.echo(f"error: {exc}", err=True)
        report = getattr(exc, "report", None)
        if report_path and report is not None:
            Path(report_path).write_text(json.dumps(report.to_dict(), indent=1))
        sys.exit(EXIT_INVALID)
    except (Dot2ArchimateError, OSError) as exc:
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INPUT)

    if explain:
        for entry in result.explain:
            rule = entry.rule or "(default)"
            extra = "" if entry.action == "mapped" else f" [{entry.action}]"
            click.echo(f"{entry.kind:12} {entry.source} -> {entry.type}  rule={rule}: "
                       f"{', '.join(entry.reasons)}{extra}", err=True)  # fmt: skip
    report = result.report.to_dict()
    if report_path:
        Path(report_path).write_text(json.dumps(report, indent=1))
    if fmt == "csv":
        if not output:
            raise click.UsageError("--format csv writes three files: give -o DIRECTORY")
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        for name, content in result.files.items():
            (out / name).write_bytes(content)
    elif output:
        Path(output).write_bytes(result.output)
    else:
        sys.stdout.buffer.write(result.output)
    for issue in result.report.issues:
        if issue.severity != "info":
            click.echo(f"{issue.severity}: {issue.subject}: {issue.message}", err=True)
    if validate and not result.report.valid:
        for err in report["xsd"]["errors"][:10]:
            click.echo(f"xsd: {err}", err=True)
        sys.exit(EXIT_INVALID)


@main.command("batch")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="output directory (default: DIRECTORY/archimate)")  # fmt: skip
@click.option("--pattern", multiple=True, default=("*.dot", "*.gv"), show_default=True)
@click.option("-j", "--jobs", type=click.IntRange(1), default=2, show_default=True, help="worker processes")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path),
              help="summary JSON path (default: OUTPUT/summary.json)")  # fmt: skip
@click.option("--progress/--no-progress", default=True)
@common_options
def batch_cmd(
    directory: Path, out_dir: Path | None, pattern: tuple[str, ...], jobs: int, summary_path: Path | None,
    progress: bool, fmt: str, rules: str | None, validate: bool, input_kind: str, no_layout: bool,
    engine: str, timeout: float, max_view_nodes: int, time_limit: float, max_nodes: int, max_edges: int,
) -> None:  # fmt: skip
    """Convert every matching file in DIRECTORY; continues past errors. Exit 1 if any file failed."""
    try:
        _, rules_text, origin = _load_rules(rules)
    except (Dot2ArchimateError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    if rules and rules_text is None:  # a built-in set: ship its text to the workers
        from importlib import resources

        name = rules.removeprefix("builtin:")
        rules_text = (resources.files("dot2archimate") / "data" / "rules" / f"{name}.yaml").read_bytes()
    out_dir = out_dir or directory / "archimate"
    inputs = sorted({p for pat in pattern for p in directory.glob(pat) if p.is_file()})
    job = BatchJob(
        output_format=fmt,
        rules_text=rules_text,
        rules_origin=origin,
        layout=_layout(no_layout, engine, timeout, 1),
        max_view_nodes=max_view_nodes,
        time_limit_s=_time_limit(time_limit),
        validate=validate,
        limits=Limits(max_nodes=max_nodes, max_edges=max_edges),
        input_kind=input_kind,
    )
    from rich.progress import Progress

    # no auto-refresh thread: the batch forks its workers, and forking a process with threads is unsafe
    with Progress(disable=not progress, transient=True, auto_refresh=False) as bar:
        task = bar.add_task("converting", total=len(inputs))

        def advance(_entry: dict[str, object]) -> None:
            bar.advance(task)
            bar.refresh()

        try:
            summary = run_batch(inputs, out_dir, job, jobs=jobs, on_done=advance)
        except Dot2ArchimateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
    doc = summary.to_dict()
    path = summary_path or out_dir / "summary.json"
    path.write_text(json.dumps(doc, indent=1))
    click.echo(f"{doc['succeeded']}/{doc['total']} converted, {doc['failed']} failed in {doc['seconds']} s; "
               f"summary: {path}", err=True)  # fmt: skip
    for f in doc["files"]:
        if f["status"] != "ok":
            click.echo(f"  {f['input']}: {f['status']}: {f.get('error', 'invalid output')}", err=True)
    sys.exit(summary.exit_code)


@main.group("rules")
def rules_group() -> None:
    """Mapping rules."""


@rules_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rules_check(file: Path) -> None:
    """Validate a rules file against the JSON Schema and compile its regexes."""
    try:
        rs = load_rules(file)
    except Dot2ArchimateError as exc:
        click.echo(f"invalid: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    doc = rs.document
    click.echo(
        f"ok: {rs.label} (format v{rs.version}): {len(doc.get('elements') or [])} element rules, "
        f"{len(doc.get('relationships') or [])} relationship rules"
    )


if __name__ == "__main__":
    main()
