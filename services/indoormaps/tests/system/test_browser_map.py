"""The map page in headless Chromium: rooms stream in per level, search finds rooms despite typos,
and two picked rooms are routed, step-free through the elevator when the toggle is on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from indoormaps_http_support import Service
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                     "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=ChromeService(driver_path), options=options)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def _level_count(service: Service, layer: str, level: int) -> int:
    response = httpx.get(f"{service.url}/api/layers/{layer}/seq", params={"format": "ndjson", "level": level})
    return len(response.text.splitlines())


def _body(browser: webdriver.Chrome, name: str) -> str | None:
    return browser.find_element(By.TAG_NAME, "body").get_attribute(f"data-{name}")


def _search_and_pick(browser: webdriver.Chrome, text: str, expected: str) -> None:
    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys(text)
    wait = WebDriverWait(browser, 10)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#results li"))
    first = browser.find_elements(By.CSS_SELECTOR, "#results li")[0]
    assert first.text.startswith(expected)
    first.click()


def test_map_page_streams_searches_and_routes(browser: webdriver.Chrome, service: Service) -> None:
    wait = WebDriverWait(browser, 20)
    browser.get(f"{service.url}/map/")
    rooms0 = _level_count(service, "rooms", 0)
    wait.until(lambda b: _body(b, "rooms-loaded") == str(rooms0))
    wait.until(lambda b: _body(b, "base-loaded") == str(_level_count(service, "base-floor", 0)))
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.room")) == rooms0

    # Level switcher: another level's rooms replace these.
    Select(browser.find_element(By.ID, "level")).select_by_value("3")
    rooms3 = _level_count(service, "rooms", 3)
    wait.until(lambda b: _body(b, "rooms-loaded") == str(rooms3))
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.room")) == rooms3

    # Search (with a typo) picks the origin and the destination; the route is drawn.
    _search_and_pick(browser, "Clasroom 104", "Classroom 104")
    _search_and_pick(browser, "Classroom 404a", "Classroom 404a")
    wait.until(lambda b: _body(b, "route") == "default")
    assert "Classroom 104" in browser.find_element(By.ID, "endpoints").text
    assert browser.find_elements(By.CSS_SELECTOR, "#steps li")[-1].text == "Arrive at Classroom 404a"

    # The step-free toggle re-routes through the elevator.
    browser.find_element(By.ID, "step-free").click()
    wait.until(lambda b: _body(b, "route") == "step_free")
    steps = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")]
    assert "Take the elevator to level 4" in steps
    assert not any("stairs" in step.lower() for step in steps)
    assert browser.execute_script("return window.indoormaps.route.segments.length") >= 2


def test_clicking_two_rooms_on_the_map_routes_between_them(browser: webdriver.Chrome, service: Service) -> None:
    wait = WebDriverWait(browser, 20)
    browser.get(f"{service.url}/map/")
    wait.until(lambda b: _body(b, "rooms-loaded") == str(_level_count(service, "rooms", 0)))
    # Two named rooms of the current level, clicked at their label points (inside the polygons).
    picks = browser.execute_script(
        """
        const s = window.indoormaps, out = [];
        for (const [id, layer] of Object.entries(s.roomLayers)) {
          const p = layer.feature.properties;
          if (!p.name || !p.label_point || !p.name.startsWith("Classroom")) continue;
          s.map.setView([p.label_point[1], p.label_point[0]], 20, {animate: false});
          break;
        }
        const size = s.map.getSize();
        for (const [id, layer] of Object.entries(s.roomLayers)) {
          const p = layer.feature.properties;
          if (!p.name || !p.label_point || !p.name.startsWith("Classroom")) continue;
          const pt = s.map.latLngToContainerPoint([p.label_point[1], p.label_point[0]]);
          if (pt.x < 40 || pt.y < 40 || pt.x > size.x - 40 || pt.y > size.y - 40) continue;
          out.push({name: p.name, x: pt.x - size.x / 2, y: pt.y - size.y / 2});
          if (out.length === 2) break;
        }
        return out;
        """
    )
    assert len(picks) == 2, picks
    map_element = browser.find_element(By.ID, "map")
    for pick in picks:
        ActionChains(browser).move_to_element_with_offset(map_element, int(pick["x"]), int(pick["y"])).click().perform()
    wait.until(lambda b: _body(b, "route") in ("default", "none"))
    text = browser.find_element(By.ID, "endpoints").text
    assert picks[0]["name"] in text
    assert picks[1]["name"] in text
    assert _body(browser, "route") == "default"
