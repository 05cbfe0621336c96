"""The shared deploy-file checks really fail on bad files (so service deploy tests can trust a pass)."""

from __future__ import annotations

from pathlib import Path

from servicekit.testing.deploy import check_compose, hadolint, kubernetes_validate


def test_each_tool_passes_a_good_file_and_fails_a_bad_one(tmp_path: Path) -> None:
    good_compose, bad_compose = tmp_path / "good.yml", tmp_path / "bad.yml"
    good_compose.write_text("services:\n  app:\n    image: example/app:1.0\n")
    bad_compose.write_text("services:\n  app:\n    image: example/app:1.0\n    ports: 8080\nbogus: 1\n")
    assert check_compose(good_compose).returncode == 0
    assert check_compose(bad_compose).returncode != 0

    good_docker, bad_docker = tmp_path / "Dockerfile.good", tmp_path / "Dockerfile.bad"
    good_docker.write_text('FROM debian:12.8-slim\nUSER 10001\nCMD ["true"]\n')
    bad_docker.write_text("FROM debian:latest\nRUN cd /tmp && ls\n")
    assert hadolint(good_docker).returncode == 0, hadolint(good_docker).stdout
    assert hadolint(bad_docker).returncode != 0

    good_k8s, bad_k8s = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good_k8s.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: example\ndata:\n  a: b\n")
    bad_k8s.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: example\ndata:\n  a: b\nbogus: 1\n")
    assert kubernetes_validate([good_k8s]).returncode == 0
    assert kubernetes_validate([bad_k8s]).returncode != 0
