"""The dashboard page: served locally with no external resources, and rendered by headless
Chromium against a real server (camera tiles, floor plan, zone counts filled from a finished task)."""

from __future__ import annotations

import asyncio
import re
import shutil
from html.parser import HTMLParser

import pytest

from .test_websocket import served


async def test_page_and_assets_are_local_and_carry_a_page_csp(service) -> None:
    page = await service.client.get("/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for name in ("dashboard.js", "dashboard.css"):
        asset = await service.client.get(f"/dashboard/static/{name}")
        assert asset.status_code == 200
        assert not re.search(r"https?://", asset.text)  # no CDN, no third-party calls
    assert not re.search(r"(src|href)=\"https?://", page.text)
    for probe in ("../app.py", "..%2Fapp.py", "dashboard.html", "%00"):
        assert (await service.client.get(f"/dashboard/static/{probe}")).status_code == 404


class _Zones(HTMLParser):
    """Collect the zone table rows and a few ids from Chromium's DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.ids: dict[str, str] = {}
        self.tiles = 0
        self._cells: list[str] | None = None
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and "data-zone" in attributes:
            self._cells = []
        if attributes.get("class") == "tile":
            self.tiles += 1
        self._id = attributes.get("id")

    def handle_data(self, data: str) -> None:
        if self._cells is not None and data.strip():
            self._cells.append(data.strip())
        if self._id:
            self.ids[self._id] = self.ids.get(self._id, "") + data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._cells is not None:
            self.rows.append(self._cells)
            self._cells = None
        self._id = None


@pytest.mark.browser
async def test_chromium_renders_a_finished_task(service, tmp_path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    p, op = service.prefix, service.auth("operator")
    env = (await service.client.post(f"{p}/environments/demo", headers=op)).json()
    r = await service.client.post(
        f"{p}/tasks", json={"source": "synthetic", "environment_id": env["id"], "cameras": ["cam_a1", "cam_b"],
                            "num_frames": 30}, headers=op,
    )  # fmt: skip
    task = await service.wait_task(r.json()["id"])
    stored = (await service.client.get(f"{p}/tasks/{task['id']}/detections", params={"limit": 1}, headers=op)).json()
    async with served(service.app) as ws_base:
        url = ws_base.replace("ws://", "http://") + f"/dashboard#token={service.tokens['viewer']}&task={task['id']}"
        process = await asyncio.create_subprocess_exec(
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    dom = _Zones()
    dom.feed(out.decode())
    assert dom.ids.get("status") == "ended: completed", (dom.ids, err[-500:])
    assert [row[0] for row in dom.rows] == ["room_A", "room_B", "room_C"]
    assert int(dom.ids["frames"]) > 0
    assert int(dom.ids["frames"]) <= 30
    assert int(dom.ids["people"]) > 0
    assert dom.tiles == 2
    peaks = {row[0]: int(row[2]) for row in dom.rows}
    assert peaks["room_C"] == 0  # nobody is seen in room C by these two cameras
    assert peaks["room_A"] + peaks["room_B"] > 0
    assert stored["total"] > 0
