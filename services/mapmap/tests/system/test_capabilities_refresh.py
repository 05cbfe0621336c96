"""Capabilities refresh against the real demo upstream on loopback, which honours If-None-Match and
If-Modified-Since and counts the 304s it sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mapmap.app import build_service
from mapmap.config import Settings
from mapmap.tiles import Endpoint, TileService

from ..conftest import metric_value, write_upstreams


@pytest.fixture
async def service(upstream, tmp_path: Path) -> AsyncIterator[tuple[TileService, list[tuple[str, str]]]]:  # type: ignore[no-untyped-def]
    _, url = upstream
    built, _ = build_service(Settings(UPSTREAMS_FILE=write_upstreams(tmp_path / "u.json", url), DEMO_UPSTREAM=False))
    outcomes: list[tuple[str, str]] = []
    built.endpoint("demo").on_refresh = lambda name, result: outcomes.append((name, result))
    yield built, outcomes
    await built.aclose()


def _capabilities_requests(state) -> list:  # type: ignore[no-untyped-def]
    return [r for r in state.requests if "GetCapabilities" in r.query]


async def test_304_keeps_the_model_200_swaps_it_failure_keeps_it(service, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    tiles, outcomes = service
    endpoint: Endpoint = tiles.endpoint("demo")
    assert (await tiles.get("demo", 3, 4, 2)).status == 200
    first_model = endpoint.capabilities
    assert first_model is not None
    assert "If-None-Match".lower() not in _capabilities_requests(state)[0].headers  # nothing to revalidate yet

    assert await endpoint.refresh() == "not_modified"
    assert state.capabilities_not_modified == 1
    conditional = _capabilities_requests(state)[-1].headers
    assert conditional["if-none-match"].startswith('"')
    assert "GMT" in conditional["if-modified-since"]
    assert endpoint.capabilities is first_model  # not even re-parsed

    state.change_capabilities()
    assert await endpoint.refresh() == "updated"
    assert endpoint.capabilities is not first_model
    assert endpoint.capabilities.title == "MapMap demo upstream (revision 1)"  # type: ignore[union-attr]
    assert (await tiles.get("demo", 3, 4, 3)).status == 200  # tiles flow through the new model

    current = endpoint.capabilities
    state.capabilities_failing = True
    assert await endpoint.refresh() == "failed"
    assert endpoint.capabilities is current
    assert (await tiles.get("demo", 3, 5, 3)).status == 200
    assert outcomes == [("demo", "not_modified"), ("demo", "updated"), ("demo", "failed")]


async def test_if_modified_since_alone_gets_304_from_a_server_without_etags(service, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    state.capabilities_validators = ("last-modified",)
    tiles, _ = service
    endpoint: Endpoint = tiles.endpoint("demo")
    await tiles.get("demo", 2, 1, 1)
    model = endpoint.capabilities
    assert await endpoint.refresh() == "not_modified"
    assert "if-none-match" not in _capabilities_requests(state)[-1].headers
    assert state.capabilities_not_modified == 1
    assert endpoint.capabilities is model


async def test_an_expired_model_is_refreshed_in_the_background_and_counted(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client(CAPABILITIES_TTL=1)
    assert (await client.get("/tiles/demo/2/1/1.png")).status_code == 200
    await asyncio.sleep(1.1)
    state.delay = 0.0
    # past the TTL: this miss is answered with the current model while the refresh runs on the side
    assert (await client.get("/tiles/demo/2/2/1.png")).status_code == 200
    for _ in range(100):
        metrics = (await client.get("/metrics")).text
        if metric_value(metrics, "mapmap_capabilities_refresh_total", endpoint="demo", result="not_modified"):
            break
        await asyncio.sleep(0.02)
    assert metric_value(metrics, "mapmap_capabilities_refresh_total", endpoint="demo", result="not_modified") == 1
    assert state.capabilities_not_modified == 1
