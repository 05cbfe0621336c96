"""The demo page in headless Chromium: Leaflet (vendored) loads tiles of both layers from MapMap
and the console stays clean (CSP violations and failed loads would show up there)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser]
if CHROMIUM is None:  # `make test` installs chromium; a missing browser must fail, not skip
    raise RuntimeError("chromium is not installed (apt-get install chromium)")


@pytest.mark.slow
def test_demo_page_loads_tiles_of_both_layers_without_console_errors(served: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", f"{served}/demo/"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    dom = result.stdout
    loaded = re.findall(r'<img[^>]*src="[^"]*/tiles/([a-z0-9-]+)/\d+/\d+/\d+\.png"[^>]*leaflet-tile-loaded', dom)
    loaded += re.findall(r'<img[^>]*leaflet-tile-loaded[^>]*src="[^"]*/tiles/([a-z0-9-]+)/\d+/\d+/\d+\.png"', dom)
    assert loaded.count("demo") >= 4, dom[:2000]
    assert loaded.count("demo-lks92") >= 4
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
