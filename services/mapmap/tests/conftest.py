"""Shared paths: the workspace's third-party data lives in the `shared` folder next to the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    if os.environ.get("FLOTILLA_SHARED"):
        return Path(os.environ["FLOTILLA_SHARED"])
    sibling = REPO_ROOT.parent / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


WMTS_DATA = shared_dir() / "data" / "wmts"


@pytest.fixture(scope="session")
def capabilities_dir() -> Path:
    folder = WMTS_DATA / "capabilities"
    assert folder.is_dir(), f"WMTS capabilities data missing at {folder}"
    return folder
