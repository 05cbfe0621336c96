"""MapMap as a WMTS server (schema-valid capabilities, OWSLib as a third-party client) and the
`mapmap seed` command, against a real uvicorn-served MapMap in front of the demo upstream."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from lxml import etree
from mapmap.capabilities import parse_capabilities
from PIL import Image

from ..conftest import ThreadedServer, write_upstreams
from .test_tiles_http import riga_tile


@pytest.fixture
def mapmap_url(upstream, tmp_path: Path):  # type: ignore[no-untyped-def]
    from mapmap.app import create_app
    from mapmap.config import Settings

    _, upstream_url = upstream
    settings = Settings(
        UPSTREAMS_FILE=write_upstreams(tmp_path / "upstreams.json", upstream_url),
        DEMO_UPSTREAM=False,
        ENABLE_REQUEST_LOGGING=False,
    )
    server = ThreadedServer(create_app(settings)).start()
    yield server.url
    server.stop()


@pytest.mark.parametrize("path", ["/wmts?SERVICE=WMTS&REQUEST=GetCapabilities", "/wmts/1.0.0/WMTSCapabilities.xml"])
def test_capabilities_are_schema_valid(mapmap_url: str, wmts_schema, path: str) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(mapmap_url + path)
    assert response.status_code == 200
    wmts_schema.assertValid(etree.fromstring(response.content))
    caps = parse_capabilities(response.content)
    assert set(caps.layers) == {"demo", "demo-lks92"}
    assert caps.tile_matrix_sets["WebMercatorQuadx2"].matrix(3).tile_width == 512
    url = caps.tile_url(
        caps.layer("demo"), style="default", fmt="image/png", tile_matrix_set="WebMercatorQuad",
        tile_matrix="3", row=2, col=4,
    )  # fmt: skip
    assert url == f"{mapmap_url}/wmts/rest/demo/default/WebMercatorQuad/3/2/4.png"
    assert httpx.get(url).content.startswith(b"\x89PNG")


def test_owslib_reads_mapmap_as_a_wmts_server(mapmap_url: str) -> None:
    from owslib.wmts import WebMapTileService

    service = WebMapTileService(f"{mapmap_url}/wmts")
    assert service.identification.type == "OGC WMTS"
    assert set(service.contents) == {"demo", "demo-lks92"}
    assert {"WebMercatorQuad", "WebMercatorQuadx2"} <= set(service.tilematrixsets)
    x, y, px, py = riga_tile(11)
    tile = service.gettile(
        layer="demo-lks92", tilematrixset="WebMercatorQuad", tilematrix="11", row=y, column=x, format="image/png"
    )
    image = np.asarray(Image.open(io.BytesIO(tile.read())).convert("RGB"))
    assert tuple(image[int(py), int(px)]) == (200, 0, 0)


def test_bad_wmts_requests_are_4xx(mapmap_url: str) -> None:
    bad = [
        "/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=demo",
        "/wmts?SERVICE=WMS&REQUEST=GetCapabilities",
        "/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=demo&TILEMATRIXSET=EPSG:4326&TILEMATRIX=1&TILEROW=0&TILECOL=0",
        "/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=demo&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=1&TILEROW=0&TILECOL=0"
        "&FORMAT=image/tiff",
        "/wmts/rest/demo/fancy/WebMercatorQuad/1/0/0.png",
    ]
    for path in bad:
        response = httpx.get(mapmap_url + path)
        assert 400 <= response.status_code < 500, path
        assert "error" in response.json()


def test_seed_warms_the_cache_and_resumes(mapmap_url: str, upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mapmap.cli import main

    state, _ = upstream
    journal = tmp_path / "seed.txt"
    args = ["seed", "demo", "--bbox", "23.9,56.85,24.3,57.05", "--zoom", "8-10", "--url", mapmap_url,
            "--state", str(journal), "--concurrency", "3"]  # fmt: skip
    import morecantile

    expected = len(list(morecantile.tms.get("WebMercatorQuad").tiles(23.9, 56.85, 24.3, 57.05, zooms=[8, 9, 10])))
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert f"0 tiles already done, {expected} to seed" in first.output
    assert f"seeded {expected} tiles, 0 failed" in first.output
    assert len(journal.read_text().split()) == expected
    assert len(state.tile_requests()) == expected
    again = CliRunner().invoke(main, args)
    assert f"{expected} tiles already done, 0 to seed" in again.output
    assert len(state.tile_requests()) == expected
    bad = CliRunner().invoke(main, ["seed", "demo", "--bbox", "1,2,3", "--zoom", "8-10"])
    assert bad.exit_code == 2
    assert "west,south,east,north" in bad.output
