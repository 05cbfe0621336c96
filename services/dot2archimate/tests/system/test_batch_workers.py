"""`run_batch` with worker processes: the same bytes as converting one by one, whichever way the
workers start (fork from the single-threaded CLI is covered by test_cli; here a live thread forces
spawned workers that warm themselves up)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from dot2archimate.batch import BatchJob, run_batch


@pytest.mark.slow
def test_spawned_workers_write_what_a_single_process_writes(tmp_path: Path, assert_xsd_valid: Any) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        chain = " ".join(f"n{k} -> n{k + 1};" for k in range(10 * (i + 1)))
        (src / f"g{i}.dot").write_text(f"digraph g{i} {{ {chain} subgraph cluster_a {{ n0 n1 }} }}")
    (src / "broken.dot").write_text("digraph { a -> }")
    inputs = sorted(src.glob("*.dot"))
    job = BatchJob(layout=None, validate=True)
    serial = run_batch(inputs, tmp_path / "one", job, jobs=1)

    stop = threading.Event()
    keeper = threading.Thread(target=stop.wait, daemon=True)  # a second thread: fork is not safe now
    keeper.start()
    try:
        parallel = run_batch(inputs, tmp_path / "two", job, jobs=2)
    finally:
        stop.set()
    assert [(f["input"], f["status"]) for f in parallel.files] == [(f["input"], f["status"]) for f in serial.files]
    assert parallel.failed == 1
    for name in (f"g{i}.xml" for i in range(4)):
        produced = (tmp_path / "two" / name).read_bytes()
        assert produced == (tmp_path / "one" / name).read_bytes()
        assert_xsd_valid(produced)
