"""The console in headless Chromium, driven over the Chrome DevTools Protocol: write through both
apps, partition db_g2 from each with the page's buttons, watch CP refuse (not_applied) while AP
answers, see the CP breaker open, heal — with no console errors or CSP violations on the way."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.slow,
]
if CHROMIUM is None:  # `make test` installs chromium; a missing browser must fail, not skip
    raise RuntimeError("chromium is not installed (apt-get install chromium)")


class Page:
    """Just enough CDP: evaluate JavaScript in one page and collect console/log/exception events."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.problems: list[str] = []
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.send(method)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.problems.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
            self.problems.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            self.problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            # the page may still be loading: a missing element is "not yet", not an error
            value = self.js(f"(() => {{ try {{ return {expression}; }} catch (error) {{ return null; }} }})()")
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")


@pytest.fixture
def chromium(tmp_path: Path) -> Any:
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", process.stderr.readline())
            port = int(match[1]) if match else None
        assert port is not None, "chromium did not open its DevTools port"
        from websockets.sync.client import connect

        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(url, max_size=None, open_timeout=10) as ws:
            yield Page(ws)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _click(page: Page, selector: str) -> None:
    page.js(f"document.querySelector({json.dumps(selector)}).click()")


def _operate(page: Page, mode: str, operation: str, key: str, value: str = "") -> tuple[str, str]:
    panel = f"#panel-{mode}"
    page.js(f"document.querySelector('{panel} .key').value = {json.dumps(key)}")
    page.js(f"document.querySelector('{panel} .value').value = {json.dumps(value)}")
    page.js(f"delete document.querySelector('{panel}').dataset.lastStatus")
    _click(page, f"{panel} .{operation}")
    status = page.wait_for(f"document.querySelector('{panel}').dataset.lastStatus")
    return status, page.js(f"document.querySelector('{panel} .outcome').textContent")


def _cell(page: Page, mode: str, node: str, cell: str) -> str:
    return str(page.js(f"document.querySelector('#panel-{mode} tr[data-node=\"{node}\"] .{cell}').textContent"))


def test_console_partitions_and_heals_both_apps(served_pair: Any, chromium: Page) -> None:
    page = chromium
    page.send("Page.navigate", url=f"{served_pair.cp}/console/")
    page.wait_for("document.body.dataset.ready === 'true'")
    page.wait_for("document.querySelector('#panel-ap').dataset.ready === 'true'")
    assert page.js("document.querySelector('#panel-cp .title').textContent").startswith("app_cp")
    assert _cell(page, "ap", "db_g2", "breaker") == "CLOSED"

    assert _operate(page, "cp", "write", "browser", "one")[0] == "200"
    status, outcome = _operate(page, "ap", "write", "browser", "uno")
    assert status == "200"
    assert "acknowledged by db_g1" in outcome
    assert page.js("sessionStorage.getItem('capstore-session-ap')")  # the token is kept for RYW

    # partition db_g2 from each app with the page's buttons
    _click(page, "#panel-cp tr[data-node='db_g2'] button[data-fault='blackhole']")
    _click(page, "#panel-ap tr[data-node='db_g2'] button[data-fault='blackhole']")
    page.wait_for("document.querySelector('#panel-cp tr[data-node=\"db_g2\"] .fault').textContent === 'blackhole'")
    page.wait_for("document.querySelector('#panel-ap tr[data-node=\"db_g2\"] .fault').textContent === 'blackhole'")

    status, outcome = _operate(page, "cp", "write", "browser", "two")
    assert status == "503"
    assert "not_applied" in outcome
    status, outcome = _operate(page, "ap", "write", "browser", "dos")
    assert status == "200"
    status, outcome = _operate(page, "ap", "read", "browser")
    assert (status, outcome.split(" from ")[0]) == ("200", '"dos"')
    assert _operate(page, "cp", "read", "browser")[1].startswith('"one"')

    for _ in range(2):  # the breaker's threshold is 3 failures
        _operate(page, "cp", "write", "browser", "again")
    page.wait_for("document.querySelector('#panel-cp tr[data-node=\"db_g2\"] .breaker').textContent === 'OPEN'")

    _click(page, "#panel-cp .heal-all")
    _click(page, "#panel-ap .heal-all")
    page.wait_for("document.querySelector('#panel-cp tr[data-node=\"db_g2\"] .fault').textContent === 'pass'")
    time.sleep(1.1)  # breaker recovery timeout: the next write's probe is the half-open trial
    assert _operate(page, "cp", "write", "browser", "three")[0] == "200"
    page.wait_for("document.querySelector('#panel-cp tr[data-node=\"db_g2\"] .breaker').textContent === 'CLOSED'")
    # failed fetches (the 503s) are logged by Chromium as network errors; anything else is a bug
    problems = [p for p in page.problems if "status of 503" not in p]
    assert problems == []
