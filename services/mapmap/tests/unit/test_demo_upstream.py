"""The demo upstream: its drawings are geographic (same city, same place in both grids) and its
capabilities are valid WMTS that our own parser reads back with the right axis order."""

from __future__ import annotations

import numpy as np
import pytest
from lxml import etree
from mapmap.capabilities import parse_capabilities
from mapmap.demo_upstream import CITIES, GRIDS, DemoUpstream, render_tile
from pyproj import Transformer


@pytest.mark.parametrize("grid", ["WebMercatorQuad", "LKS92"])
def test_riga_dot_is_drawn_where_riga_is(grid: str) -> None:
    tms = GRIDS[grid]
    z = 10 if grid == "WebMercatorQuad" else 6
    east, north = Transformer.from_crs("EPSG:4326", tms.crs, always_xy=True).transform(*CITIES["Riga"])
    matrix = tms.matrix(z)
    col = int((east - matrix.top_left[0]) // matrix.tile_span[0])
    row = int((matrix.top_left[1] - north) // matrix.tile_span[1])
    image = render_tile(tms, z, col, row)
    left, _, _, top = matrix.tile_bounds(col, row)
    px, py = int((east - left) / matrix.cell_size), int((top - north) / matrix.cell_size)
    assert tuple(image[py, px]) == (200, 0, 0)
    red = np.all(image == (200, 0, 0), axis=-1)
    assert 0 < red.sum() < image.shape[0] * image.shape[1] / 4


def test_capabilities_validate_and_parse_back(wmts_schema) -> None:  # type: ignore[no-untyped-def]
    document = DemoUpstream().capabilities("http://127.0.0.1:9")
    wmts_schema.assertValid(etree.fromstring(document))
    caps = parse_capabilities(document)
    layer = caps.layer("demo")
    assert set(layer.tile_matrix_sets) == {"WebMercatorQuad", "LKS92"}
    lks = caps.tile_matrix_sets["LKS92"]
    assert lks.crs == "EPSG:3059"
    assert b"<TopLeftCorner>500000.0 200000.0</TopLeftCorner>" in document  # northing first on the wire
    assert lks.matrix(0).top_left == (200000.0, 500000.0)
    assert lks.matrix(3).cell_size == pytest.approx(512.0)
    assert caps.tile_matrix_sets["WebMercatorQuad"].matrix(5).cell_size == pytest.approx(
        GRIDS["WebMercatorQuad"].resolution(5)
    )


async def test_served_over_http_with_recording_and_faults(upstream) -> None:  # type: ignore[no-untyped-def]
    import httpx

    state, url = upstream
    async with httpx.AsyncClient(base_url=url) as client:
        caps = await client.get("/wmts", params={"SERVICE": "WMTS", "REQUEST": "GetCapabilities"})
        assert caps.status_code == 200
        tile = await client.get("/wmts/rest/demo/default/LKS92/5/3/6.png")
        assert tile.status_code == 200
        assert tile.content.startswith(b"\x89PNG")
        kvp = await client.get(
            "/wmts",
            params={"SERVICE": "WMTS", "REQUEST": "GetTile", "LAYER": "demo", "TILEMATRIXSET": "WebMercatorQuad",
                    "TILEMATRIX": "3", "TILEROW": "2", "TILECOL": "4", "FORMAT": "image/jpeg", "STYLE": "default"},
        )  # fmt: skip
        assert kvp.content.startswith(b"\xff\xd8\xff")
        assert (await client.get("/wmts/rest/demo/default/LKS92/5/999/6.png")).status_code == 400
        state.set_fault("error", status=503, remaining=1)
        assert (await client.get("/wmts/rest/demo/default/LKS92/5/3/6.png")).status_code == 503
        assert (await client.get("/wmts/rest/demo/default/LKS92/5/3/6.png")).status_code == 200
        state.set_fault("garbage")
        garbage = await client.get("/wmts/rest/demo/default/LKS92/5/3/6.png")
        assert garbage.content.startswith(b"<html>")
    assert len(state.tile_requests()) == 6
