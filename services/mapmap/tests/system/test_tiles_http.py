"""MapMap through HTTP (create_app + Settings) against the real demo upstream on loopback, which
records what it is asked and fails on command."""

from __future__ import annotations

import asyncio
import io
import math
from email.utils import formatdate

import httpx
import numpy as np
import pytest
from PIL import Image

from ..conftest import metric_value

RIGA = (24.1052, 56.9496)


def riga_tile(z: int) -> tuple[int, int, float, float]:
    """(x, y, pixel column, pixel row) of Riga in WebMercatorQuad at zoom z (256-pixel tiles)."""
    n = 2**z
    fx = (RIGA[0] + 180) / 360 * n
    lat = math.radians(RIGA[1])
    fy = (1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n
    return int(fx), int(fy), (fx % 1) * 256, (fy % 1) * 256


def rgba(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGBA"))


async def test_passthrough_is_byte_identical_and_cached(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, url = upstream
    client = make_client()
    x, y, _, _ = riga_tile(10)
    first = await client.get(f"/tiles/demo/10/{x}/{y}.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    async with httpx.AsyncClient() as direct:
        original = await direct.get(f"{url}/wmts/rest/demo/default/WebMercatorQuad/10/{y}/{x}.png")
    assert first.content == original.content  # no re-encoding on the same grid
    assert first.headers["etag"].startswith('"')
    assert "max-age=3600" in first.headers["cache-control"]
    assert "stale-while-revalidate=600" in first.headers["cache-control"]
    # the guide's query form and unknown parameters hit the same cache entry
    again = await client.get(f"/tiles/{10}/{x}/{y}.png", params={"endpoint": "demo", "foo": "1", "cachebust": "2"})
    assert again.status_code == 200
    assert again.headers["etag"] == first.headers["etag"]
    ours = [r for r in state.tile_requests() if r.headers["user-agent"].startswith("MapMap")]
    tiles_fetched = [r for r in ours if "/WebMercatorQuad/10/" in r.path]
    assert len(tiles_fetched) == 1
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "mapmap_cache_hits_total", endpoint="demo") == 1
    assert metric_value(metrics, "mapmap_cache_misses_total", endpoint="demo") == 1
    assert metric_value(metrics, "mapmap_requests_total", status="200") >= 2
    assert "mapmap_upstream_request_duration_seconds_bucket" in metrics
    health = (await client.get("/health")).json()
    assert health["cache_size"] == 1


async def test_reprojected_tile_puts_riga_where_riga_is(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client()
    x, y, px, py = riga_tile(11)
    response = await client.get(f"/tiles/demo-lks92/11/{x}/{y}.png")
    assert response.status_code == 200
    image = rgba(response.content)
    assert image.shape == (256, 256, 4)
    r, g, b, a = image[int(py), int(px)]
    assert (r, g, b, a) == (200, 0, 0, 255), "the city dot drawn in EPSG:3059 must land on Riga in EPSG:3857"
    assert all("/LKS92/" in r.path for r in state.tile_requests())
    assert len(state.tile_requests()) >= 1


async def test_512_tiles_and_formats(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    x, y, px, py = riga_tile(9)
    retina = await client.get(f"/tiles/demo/9/{x}/{y}@2x.png")
    assert retina.status_code == 200
    image = rgba(retina.content)
    assert image.shape == (512, 512, 4)
    assert tuple(image[int(py * 2), int(px * 2)][:3]) == (200, 0, 0)
    jpeg = await client.get(f"/tiles/demo/9/{x}/{y}.jpg")
    assert jpeg.content.startswith(b"\xff\xd8\xff")
    assert jpeg.headers["content-type"] == "image/jpeg"
    webp = await client.get(f"/tiles/demo/9/{x}/{y}.webp", params={"tile_size": "512"})
    assert webp.content[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(webp.content)).size == (512, 512)


async def test_conditional_requests(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    first = await client.get("/tiles/demo/3/4/2.png")
    etag = first.headers["etag"]
    not_modified = await client.get("/tiles/demo/3/4/2.png", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (await client.get("/tiles/demo/3/4/2.png", headers={"If-None-Match": '"other"'})).status_code == 200
    later = formatdate(first.headers and (1e10), usegmt=True)
    assert (await client.get("/tiles/demo/3/4/2.png", headers={"If-Modified-Since": later})).status_code == 304
    earlier = formatdate(0, usegmt=True)
    assert (await client.get("/tiles/demo/3/4/2.png", headers={"If-Modified-Since": earlier})).status_code == 200
    garbled = await client.get("/tiles/demo/3/4/2.png", headers={"If-Modified-Since": "yesterday-ish"})
    assert garbled.status_code == 200


async def test_herd_of_50_misses_makes_one_upstream_fetch(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client()
    await client.get("/tiles/demo/2/1/1.png")  # capabilities loaded; not part of the herd
    state.requests.clear()
    state.delay = 0.2
    responses = await asyncio.gather(*(client.get("/tiles/demo/12/2300/1200.png") for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert len(state.tile_requests()) == 1
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "mapmap_coalesced_waiters_total", endpoint="demo") == 49


async def test_stale_served_on_upstream_error_with_age(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client(CACHE_TTL=1, CACHE_SWR=0)
    first = await client.get("/tiles/demo/5/18/9.png")
    assert first.status_code == 200
    await asyncio.sleep(2.1)
    state.set_fault("error", status=500)
    stale = await client.get("/tiles/demo/5/18/9.png")
    assert stale.status_code == 200
    assert stale.content == first.content
    assert int(stale.headers["age"]) >= 2
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "mapmap_stale_served_total", endpoint="demo", reason="error") == 1
    assert metric_value(metrics, "mapmap_upstream_errors_total", upstream="demo", kind="500") >= 1


async def test_stale_while_revalidate_answers_at_once_and_refreshes(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client(CACHE_TTL=1, CACHE_SWR=60)
    await client.get("/tiles/demo/5/18/10.png")
    await asyncio.sleep(1.2)
    state.requests.clear()
    state.delay = 0.5
    started = asyncio.get_running_loop().time()
    stale = await client.get("/tiles/demo/5/18/10.png")
    assert asyncio.get_running_loop().time() - started < 0.4  # did not wait for the slow upstream
    assert stale.status_code == 200
    assert "age" in stale.headers
    for _ in range(40):
        if state.tile_requests():
            break
        await asyncio.sleep(0.05)
    assert len(state.tile_requests()) == 1  # one background refresh


async def test_5xx_is_never_cached_but_404_is_briefly(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client()
    await client.get("/tiles/demo/1/0/0.png")
    state.set_fault("error", status=500, remaining=1)
    assert (await client.get("/tiles/demo/6/30/20.png")).status_code == 502
    assert (await client.get("/tiles/demo/6/30/20.png")).status_code == 200
    state.set_fault("notfound")
    assert (await client.get("/tiles/demo/6/31/20.png")).status_code == 404
    state.set_fault(None)
    missing = await client.get("/tiles/demo/6/31/20.png")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "public, max-age=60"
    assert len([r for r in state.tile_requests() if r.path.endswith("/6/20/31.png")]) == 1


async def test_garbage_body_is_502_and_not_cached(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client()
    await client.get("/tiles/demo/1/0/0.png")
    state.set_fault("garbage")
    bad = await client.get("/tiles/demo/7/70/40.png")
    assert bad.status_code == 502
    assert bad.json()["error"] == "bad_upstream_response"
    state.set_fault(None)
    assert (await client.get("/tiles/demo/7/70/40.png")).status_code == 200


async def test_slow_upstream_is_504(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client(UPSTREAM_READ_TIMEOUT=0.3)
    await client.get("/tiles/demo/1/0/0.png")
    state.set_fault("slow", delay=1.0)
    slow = await client.get("/tiles/demo/7/71/40.png")
    assert slow.status_code == 504
    assert slow.json()["error"] == "upstream_timeout"


async def test_open_breaker_is_503_with_retry_after(make_client, upstream) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client(BREAKER_FAILURE_THRESHOLD=2, BREAKER_RECOVERY_TIMEOUT=20)
    await client.get("/tiles/demo/1/0/0.png")
    state.set_fault("error", status=503)
    state.requests.clear()
    assert (await client.get("/tiles/demo/8/1/1.png")).status_code == 502
    assert (await client.get("/tiles/demo/8/1/2.png")).status_code == 502
    refused = await client.get("/tiles/demo/8/1/3.png")
    assert refused.status_code == 503
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert refused.json()["error"] == "upstream_unavailable"
    assert len(state.tile_requests()) == 2  # the open breaker did not call the upstream
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "mapmap_circuit_breaker_state", breaker="upstream:demo") == 2


async def test_upstream_down_is_never_500(make_client, upstream, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from mapmap.app import create_app
    from mapmap.config import Settings
    from servicekit.local import free_port

    dead = f"http://127.0.0.1:{free_port()}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"
    path = tmp_path / "dead.json"
    path.write_text(json.dumps({"endpoints": [{"name": "dead", "capabilities_url": dead, "layer": "demo"}]}))
    app = create_app(Settings(UPSTREAMS_FILE=path, DEMO_UPSTREAM=False, ENABLE_REQUEST_LOGGING=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        response = await client.get("/tiles/dead/3/1/1.png")
    assert response.status_code == 502
    assert response.json() == {"error": "upstream_error", "detail": "cannot connect to upstream 'dead'"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/demo/" + "9" * 400 + "/0/0.png", 400),
        ("/tiles/demo/-1/0/0.png", 400),
        ("/tiles/demo/3/8/0.png", 400),
        ("/tiles/demo/25/0/0.png", 400),
        ("/tiles/demo/3/0/0.exe", 400),
        ("/tiles/demo/3/0/0.png?tile_size=1024", 400),
        ("/tiles/demo/3/0/0%00.png", 400),
        ("/tiles/..%2F..%2Fetc%2Fpasswd/3/0/0.png", 404),
        ("/tiles/%2e%2e/3/0/0.png", 404),
        ("/tiles/nope/3/0/0.png", 404),
        ("/tiles/3/0/0.png", 400),
        ("/tiles/3/0/0.png?endpoint=../../demo", 404),
    ],
)
async def test_hostile_inputs_get_precise_4xx(make_client, upstream, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    client = make_client()
    response = await client.get(path)
    assert response.status_code == status
    assert set(response.json()) == {"error", "detail"}
    assert not state.tile_requests()


async def test_upstream_token_never_leaks(make_client, upstream, capsys) -> None:  # type: ignore[no-untyped-def]
    state, _ = upstream
    token = "tok-" + "s3cr3t" * 6
    client = make_client({"token": token, "token_param": "apikey"}, BREAKER_FAILURE_THRESHOLD=50)
    assert (await client.get("/tiles/demo/4/9/5.png")).status_code == 200
    assert any(f"apikey={token}" in r.query for r in state.requests)
    state.set_fault("error", status=500)
    failed = await client.get("/tiles/demo/4/9/6.png")
    state.set_fault("slow", delay=0.01)
    metrics = (await client.get("/metrics")).text
    captured = capsys.readouterr()
    for text in (failed.text, metrics, captured.out, captured.err):
        assert token not in text


async def test_tilejson_and_admin_purge(make_client) -> None:  # type: ignore[no-untyped-def]
    admin = "adm-" + "0123456789abcdef" * 3
    client = make_client(ADMIN_TOKEN=admin)
    tilejson = (await client.get("/tiles/demo-lks92/tilejson.json")).json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"] == ["http://127.0.0.1/tiles/demo-lks92/{z}/{x}/{y}.png"]
    await client.get("/tiles/demo/2/1/1.png")
    await client.get("/tiles/demo/2/1/2.png")
    assert (await client.get("/health")).json()["cache_size"] == 2
    assert (await client.post("/admin/cache/purge")).status_code == 401
    assert (await client.post("/admin/cache/purge", headers={"Authorization": "Bearer nope"})).status_code == 401
    purged = await client.post("/admin/cache/purge", headers={"Authorization": f"Bearer {admin}"})
    assert purged.status_code == 200
    assert purged.json() == {"purged": 2}
    assert (await client.get("/health")).json()["cache_size"] == 0
