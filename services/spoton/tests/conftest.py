"""Shared fixtures for SpotOn tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from spoton.scene import SyntheticScene, demo_scene

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def mot_fixtures() -> Path:
    return FIXTURES / "mot"


@pytest.fixture(scope="session")
def scene() -> SyntheticScene:
    """The demo scene, 200 frames at 10 FPS, 640x360 cameras."""
    return demo_scene(num_frames=200)
