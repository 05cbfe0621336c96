"""Job backend settings: the queue needs a broker, leases must outlive heartbeats, specs round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from servicekit import run_deploy_checks
from spoton.config import DEPLOY_CHECKS, Settings
from spoton.errors import InvalidInputError
from spoton.geometry import Homography
from spoton.pipeline.specs import build_job, synthetic_spec


def make(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, DATA_DIR=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite", **values)


def _ids(settings: Settings) -> set[str]:
    return {m.id for m in run_deploy_checks(settings, DEPLOY_CHECKS)}


def test_the_queue_backend_needs_a_broker(tmp_path: Path) -> None:
    assert "SPOT.E004" in _ids(make(tmp_path, JOB_BACKEND="dramatiq"))
    with_redis = make(tmp_path, JOB_BACKEND="dramatiq", REDIS_URL="redis://127.0.0.1:6379/0")
    assert "SPOT.E004" not in _ids(with_redis)
    assert with_redis.job_broker_url == "redis://127.0.0.1:6379/0"
    own = make(tmp_path, JOB_BACKEND="dramatiq", REDIS_URL="redis://a:6379/0", JOB_BROKER_URL="redis://b:6379/1")
    assert own.job_broker_url == "redis://b:6379/1"


def test_several_processes_without_redis_are_warned_about(tmp_path: Path) -> None:
    assert "SPOT.W002" in _ids(make(tmp_path, WORKERS=4))
    assert "SPOT.W002" not in _ids(make(tmp_path, WORKERS=4, REDIS_URL="redis://127.0.0.1:6379/0"))
    assert "SPOT.W002" not in _ids(make(tmp_path))


def test_a_lease_shorter_than_two_heartbeats_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="JOB_LEASE_SECONDS must be at least twice"):
        make(tmp_path, JOB_HEARTBEAT_SECONDS=10, JOB_LEASE_SECONDS=15)
    with pytest.raises(ValidationError):
        make(tmp_path, JOB_BACKEND="celery")


def test_a_synthetic_spec_rebuilds_the_same_source_and_homographies() -> None:
    h = Homography(np.array([[0.01, 0, 1], [0, 0.02, 2], [0, 0, 1]]))
    spec = synthetic_spec({"num_people": 2, "num_frames": 3, "seed": 5, "width": 160, "height": 90}, ["cam_b"],
                          {"cam_b": h, "cam_c": None})  # fmt: skip
    make_source, homographies = build_job(spec)
    assert homographies["cam_c"] is None
    np.testing.assert_allclose(homographies["cam_b"].matrix, h.matrix)
    source = make_source()
    frames = list(source.frames())
    assert [n for n, _, _ in frames] == [1, 2, 3]
    assert frames[0][2]["cam_b"].shape == (90, 160, 3)
    with pytest.raises(InvalidInputError, match="unknown job spec kind"):
        build_job({"kind": "webcam"})
