"""DETECTOR_TYPE=fasterrcnn without torch or without weights: refused at start-up, naming the fix.

CI has no torch (it is an optional extra); `sys.modules["torch"] = None` makes the import fail the
same way on a machine that happens to have it, so these tests pin the error paths everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from servicekit import run_deploy_checks
from spoton.app import create_app
from spoton.cli import main
from spoton.config import DEPLOY_CHECKS, Settings
from spoton.detection import create_detector
from spoton.errors import DetectorUnavailableError, WeightsNotFoundError

STRONG = "9c1e5a3f7b2d8e4c6a0f1b9d3e7c5a2f8b4d0e6c1a9f3b7d5e2c8a4f0b6d1e9c"


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("torch", "torchvision"):
        monkeypatch.setitem(sys.modules, name, None)  # `import torch` now raises ImportError


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    directory = tmp_path / "weights"
    directory.mkdir()
    (directory / "fasterrcnn_resnet50_fpn.pth").write_bytes(b"a state dict would be here")
    return directory


def settings(tmp_path: Path, weights_dir: Path) -> Settings:
    return Settings(
        _env_file=None, DATA_DIR=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite",
        DETECTOR_TYPE="fasterrcnn", WEIGHTS_DIR=weights_dir,
    )  # fmt: skip


def test_missing_torch_names_the_extra(no_torch: None, weights: Path) -> None:
    with pytest.raises(DetectorUnavailableError, match=r"pip install 'spoton\[torch\]'"):
        create_detector("fasterrcnn", weights)


def test_missing_weights_are_reported_before_torch_is_even_imported(no_torch: None, tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        create_detector("fasterrcnn", tmp_path)
    assert info.value.path == tmp_path / "fasterrcnn_resnet50_fpn.pth"


def test_the_app_refuses_to_start_without_torch(no_torch: None, weights: Path, tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailableError, match=r"spoton\[torch\]"):
        create_app(settings(tmp_path, weights))


def test_the_deploy_check_reports_missing_torch(no_torch: None, weights: Path, tmp_path: Path) -> None:
    messages = [m for m in run_deploy_checks(settings(tmp_path, weights), DEPLOY_CHECKS) if m.id == "SPOT.E003"]
    assert len(messages) == 1
    assert "spoton[torch]" in messages[0].message


def test_spoton_check_deploy_exits_non_zero_naming_the_extra(
    no_torch: None, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET_KEY": STRONG, "ENCRYPTION_SECRET_KEY": STRONG[::-1],
        "DETECTOR_TYPE": "fasterrcnn", "WEIGHTS_DIR": str(weights),
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["check", "--deploy"])
    assert result.exit_code == 1
    assert "SPOT.E003" in result.output
    assert "spoton[torch]" in result.output
