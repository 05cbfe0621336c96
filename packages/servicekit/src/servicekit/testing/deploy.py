"""Offline checks of a service's deploy/ files, shared by every service's deploy tests.

Each returns the completed process so the test asserts on it (and prints the tool's output).
The tools come from the workspace's dev group; the Compose schema is vendored next to this module.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["COMPOSE_SCHEMA", "check_compose", "hadolint", "kubernetes_validate"]

COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 - fixed lint tools


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("hadolint"), str(dockerfile))


def check_compose(compose_file: Path) -> subprocess.CompletedProcess[str]:
    """Validate against the Compose Specification schema, with no network."""
    return _run(_tool("check-jsonschema"), "--schemafile", str(COMPOSE_SCHEMA), str(compose_file))


def kubernetes_validate(manifests: Iterable[Path | str], *options: str) -> subprocess.CompletedProcess[str]:
    """`kubernetes-validate --strict` over the manifests (extra options, e.g. `-k 1.31.0`, appended)."""
    return _run(_tool("kubernetes-validate"), "--strict", *options, *(str(m) for m in manifests))
