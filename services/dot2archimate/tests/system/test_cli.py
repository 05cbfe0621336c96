"""The `dot2archimate` console script, run as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXE = shutil.which("dot2archimate") or str(Path(sys.executable).with_name("dot2archimate"))


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, timeout=120, check=False)


def test_convert_stdin_to_stdout_with_validate_and_explain(assert_xsd_valid: Any) -> None:
    proc = run("convert", "-", "--validate", "--explain", stdin=b"digraph g { a -> b_db }")
    assert proc.returncode == 0, proc.stderr
    assert_xsd_valid(proc.stdout)
    err = proc.stderr.decode()
    assert "b_db -> DataObject  rule=database-name" in err
    assert "a -> ApplicationComponent  rule=(default): default" in err


def test_convert_formats_to_files(tmp_path: Path, assert_xsd_valid: Any) -> None:
    src = FIXTURES / "golden" / "shop.dot"
    out = tmp_path / "shop.xml"
    report = tmp_path / "report.json"
    assert run("convert", str(src), "-o", str(out), "--report", str(report), "--validate").returncode == 0
    assert_xsd_valid(out.read_bytes())
    doc = json.loads(report.read_text())
    assert doc["valid"]
    assert doc["xsd"] == {"checked": True, "valid": True, "errors": []}
    assert run("convert", str(src), "--format", "archimate", "-o", str(tmp_path / "shop.archimate")).returncode == 0
    assert (tmp_path / "shop.archimate").read_bytes().startswith(b"<?xml")
    assert run("convert", str(src), "--format", "csv", "-o", str(tmp_path / "csv")).returncode == 0
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "elements.csv",
        "properties.csv",
        "relations.csv",
    ]
    usage = run("convert", str(src), "--format", "csv")
    assert usage.returncode == 2
    assert b"-o DIRECTORY" in usage.stderr


def test_convert_errors_have_exit_codes(tmp_path: Path) -> None:
    bad = run("convert", "-", stdin=b"digraph {\n a -> \n}")
    assert bad.returncode == 1
    assert b"DotSyntaxError: line 3, column 1: unexpected '}'" in bad.stderr
    rules = tmp_path / "strict.yaml"
    rules.write_text(
        "version: 1\nname: strict\ndefaults: {relationship: Serving, on_invalid: error}\n"
        "elements: [{id: d, match: {shape: cylinder}, element: DataObject}]\n"
    )
    invalid = run("convert", "-", "--rules", str(rules), "--report", str(tmp_path / "r.json"),
                  stdin=b"digraph { d [shape=cylinder]; d -> x }")  # fmt: skip
    assert invalid.returncode == 3
    assert b"Serving is not allowed from DataObject" in invalid.stderr
    assert json.loads((tmp_path / "r.json").read_text())["valid"] is False
    big = run("convert", "-", "--max-nodes", "2", stdin=b"digraph { a b c }")
    assert big.returncode == 1
    assert b"GraphTooLargeError" in big.stderr


def test_batch_continues_past_errors(tmp_path: Path, assert_xsd_valid: Any) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for f in (FIXTURES / "terraform").glob("*.dot"):
        shutil.copy(f, src / f.name)
    shutil.copy(FIXTURES / "golden" / "shop.dot", src / "shop.gv")
    (src / "broken.dot").write_text("digraph { a -> }")
    (src / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    proc = run("batch", str(src), "-o", str(out), "-j", "2", "--validate", "--no-progress")
    assert proc.returncode == 1  # one failure
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (6, 5, 1)
    by_name = {f["input"]: f for f in summary["files"]}
    assert by_name["broken.dot"]["error_type"] == "DotSyntaxError"
    assert by_name["v1_11_default.dot"]["status"] == "ok"
    for f in summary["files"]:
        for o in f["outputs"]:
            assert_xsd_valid((out / o).read_bytes())
    assert b"5/6 converted" in proc.stderr
    (src / "broken.dot").unlink()
    ok = run("batch", str(src), "-o", str(tmp_path / "out2"), "-j", "1", "--no-layout", "--no-progress")
    assert ok.returncode == 0


def test_rules_check(tmp_path: Path) -> None:
    good = run(
        "rules",
        "check",
        str(FIXTURES.parents[1] / "src" / "dot2archimate" / "data" / "rules" / "default.yaml"),
    )
    assert good.returncode == 0
    assert good.stdout.startswith(b"ok: default@")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: b\nelements: [{id: x, element: Cloud}]\n")
    proc = run("rules", "check", str(bad))
    assert proc.returncode == 1
    assert b"elements/0/element" in proc.stderr
