"""Headless Chromium (selenium + Debian's chromedriver) uploads a file and sees the converted view.

Also proves in a real browser that a hostile label runs nothing and the CSP reports no violation.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason="chromium/chromedriver not installed"),
]
SHOP = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "shop.dot"


@pytest.fixture
def app_url(web_settings: Any) -> Iterator[str]:
    import uvicorn
    from dot2archimate.app import create_app
    from servicekit.local import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(web_settings()), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


def _wait(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting in the browser")


def test_upload_shows_the_converted_view(app_url: str, driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    hostile = tmp_path / "hostile.dot"
    hostile.write_text(SHOP.read_text().replace("{", '{ x [label="<img src=x onerror=\\"document.title=1\\">"];', 1))
    driver.get(app_url + "/")
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("DOT and terraform graphs")
    driver.find_element(By.ID, "file").send_keys(str(hostile))
    driver.find_element(By.ID, "submit").click()
    _wait(lambda: "/results/" in driver.current_url)
    assert driver.find_element(By.ID, "validity").text == "Valid ArchiMate model"
    images = driver.find_elements(By.CSS_SELECTOR, "img.view-svg, img.input-svg")
    assert len(images) >= 2
    loaded = _wait(lambda: all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)
                               for i in images))  # fmt: skip
    assert loaded
    widths = [driver.execute_script("return arguments[0].naturalWidth", i) for i in images]
    assert all(w > 50 for w in widths), widths
    assert driver.title != "1"  # the label's onerror never ran
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "nav.downloads a")]
    assert any(link.endswith("/files/model.xml") for link in links)
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []  # no CSP violation, no failed load
