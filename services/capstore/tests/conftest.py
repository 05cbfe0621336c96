from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """`shared/` sits beside the repository root; worktrees fall back to /work/shared."""
    candidates = [os.environ.get("FLOTILLA_SHARED"), REPO_ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data").is_dir():
            return Path(candidate)
    raise RuntimeError("shared data not found: set FLOTILLA_SHARED to the folder holding data/")


@pytest.fixture(scope="session")
def histories_dir() -> Path:
    return shared_dir() / "data" / "histories"
