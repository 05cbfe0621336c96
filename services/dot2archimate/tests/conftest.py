"""Shared test helpers: paths to the workspace's shared data and the Graphviz gallery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
REPO_ROOT = HERE.parents[2]


def shared_dir() -> Path:
    env = os.environ.get("FLOTILLA_SHARED")
    if env:
        return Path(env)
    sibling = REPO_ROOT.parent / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
