"""A small WMTS server that needs no internet: MapMap's embedded default upstream and its test double.

Tiles are drawn on the fly from geographic coordinates (coloured latitude bands, a 1° graticule and
dots for Latvian cities), in WebMercatorQuad (EPSG:3857) and in an LKS-92 grid (EPSG:3059,
northing first), so the same place lands on the same pixels in both and reprojection is visible.
It records every request and can be told to fail (5xx, garbage bodies, slowness) for fault tests.

    python -m mapmap.demo_upstream --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image
from pyproj import Transformer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mapmap.errors import MapMapError
from mapmap.tms import TileMatrixSet, lks92_quad, web_mercator_quad
from mapmap.wmts_xml import LayerSpec, build_capabilities

__all__ = ["CITIES", "DemoUpstream", "Fault", "RecordedRequest", "main", "render_tile"]

CITIES: dict[str, tuple[float, float]] = {
    "Riga": (24.1052, 56.9496),
    "Daugavpils": (26.5362, 55.8714),
    "Liepaja": (21.0110, 56.5047),
    "Jelgava": (23.7128, 56.6511),
    "Ventspils": (21.5606, 57.3894),
    "Rezekne": (27.3314, 56.5099),
    "Valmiera": (25.4276, 57.5411),
}
_BANDS = np.array(
    [[230, 196, 120], [173, 216, 150], [140, 200, 220], [200, 170, 220], [240, 160, 140], [220, 220, 160]],
    dtype=np.uint8,
)
LAYER = "demo"
GRIDS: dict[str, TileMatrixSet] = {"WebMercatorQuad": web_mercator_quad(max_zoom=18), "LKS92": lks92_quad()}


@lru_cache(maxsize=8)
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


@lru_cache(maxsize=8)
def _from_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def render_tile(tms: TileMatrixSet, z: int, col: int, row: int) -> np.ndarray:
    """An RGB array for one tile, computed per pixel from its longitude/latitude."""
    matrix = tms.matrix(z)
    left, bottom, right, top = matrix.tile_bounds(col, row)
    width, height = matrix.tile_width, matrix.tile_height
    xs = left + (np.arange(width) + 0.5) * (right - left) / width
    ys = top - (np.arange(height) + 0.5) * (top - bottom) / height
    grid_x, grid_y = np.meshgrid(xs, ys)
    lon, lat = _to_lonlat(tms.crs).transform(grid_x, grid_y)
    band = np.floor(lat * 4).astype(np.int64) % len(_BANDS)
    image: np.ndarray = _BANDS[band].copy()
    checker = (np.floor(lon * 2).astype(np.int64) % 2).astype(bool)
    image[checker] = (image[checker] * 0.9).astype(np.uint8)
    # graticule lines one pixel wide wherever a whole degree passes through the pixel
    dlon = np.abs(np.gradient(lon, axis=1)) + 1e-12
    dlat = np.abs(np.gradient(lat, axis=0)) + 1e-12
    on_line = (np.abs(lon - np.round(lon)) < dlon / 2) | (np.abs(lat - np.round(lat)) < dlat / 2)
    image[on_line] = (60, 60, 60)
    cell = matrix.cell_size
    radius = max(3.0, 2500.0 / cell) if cell < 2500 else 3.0
    for lon_c, lat_c in CITIES.values():
        cx, cy = _from_lonlat(tms.crs).transform(lon_c, lat_c)
        px, py = (cx - left) / cell, (top - cy) / cell
        if -radius <= px <= width + radius and -radius <= py <= height + radius:
            yy, xx = np.ogrid[:height, :width]
            disc = (xx + 0.5 - px) ** 2 + (yy + 0.5 - py) ** 2 <= radius**2
            image[disc] = (200, 0, 0)
    return image


def encode(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, format="JPEG" if fmt == "jpg" else "PNG")
    return buffer.getvalue()


@dataclass
class RecordedRequest:
    path: str
    query: str
    at: float
    headers: dict[str, str]


@dataclass
class Fault:
    """What the next tile requests get: `mode` is None, "error", "garbage", "slow", "empty", "notfound"."""

    mode: str | None = None
    status: int = 500
    delay: float = 0.0
    remaining: int | None = None
    """How many requests the fault applies to (None: until cleared)."""


@dataclass
class DemoUpstream:
    """The server's state: what it was asked, what it should break."""

    requests: list[RecordedRequest] = field(default_factory=list)
    fault: Fault = field(default_factory=Fault)
    delay: float = 0.0
    """Added to every tile response (e.g. 0.05 s so a herd really overlaps)."""
    capabilities_revision: int = 0
    """Bump it to change the capabilities document (its title, ETag and Last-Modified)."""
    capabilities_changed_at: float = field(default_factory=lambda: float(int(time.time())))
    capabilities_failing: bool = False
    """Answer capabilities requests with 503 (a refresh that fails)."""
    capabilities_validators: tuple[str, ...] = ("etag", "last-modified")
    """Which validators capabilities responses carry (and 304 honours)."""
    capabilities_not_modified: int = 0
    """How many capabilities requests were answered 304 Not Modified."""

    def tile_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if "GetTile" in r.query or "/rest/" in r.path]

    def reset(self) -> None:
        self.requests.clear()
        self.fault = Fault()
        self.delay = 0.0
        self.capabilities_failing = False
        self.capabilities_validators = ("etag", "last-modified")
        self.capabilities_not_modified = 0

    def change_capabilities(self) -> None:
        self.capabilities_revision += 1
        self.capabilities_changed_at = max(float(int(time.time())), self.capabilities_changed_at + 1)

    def capabilities_response(self, request: Request, base_url: str) -> Response:
        """The capabilities, conditional: If-None-Match (or else If-Modified-Since) may get a 304."""
        if self.capabilities_failing:
            return Response(b"capabilities temporarily unavailable", status_code=503)
        body = self.capabilities(base_url)
        headers = {}
        if "etag" in self.capabilities_validators:
            headers["ETag"] = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        if "last-modified" in self.capabilities_validators:
            headers["Last-Modified"] = formatdate(self.capabilities_changed_at, usegmt=True)
        if _not_modified(request, headers.get("ETag"), self.capabilities_changed_at, "Last-Modified" in headers):
            self.capabilities_not_modified += 1
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/xml", headers=headers)

    def set_fault(self, mode: str | None, **kwargs: Any) -> None:
        self.fault = Fault(mode, **kwargs)

    def capabilities(self, base_url: str) -> bytes:
        rest = f"{base_url}/wmts/rest/{LAYER}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}"
        layers = [
            LayerSpec(
                LAYER,
                "MapMap demo layer (bands, graticule, Latvian cities)",
                list(GRIDS),
                formats=("image/png", "image/jpeg"),
                rest_template=rest + ".png",
                extra_templates={"image/jpeg": rest + ".jpg"},
            )
        ]
        return build_capabilities(
            title="MapMap demo upstream"
            + (f" (revision {self.capabilities_revision})" * bool(self.capabilities_revision)),
            layers=layers,
            tile_matrix_sets=list(GRIDS.values()),
            kvp_url=f"{base_url}/wmts?",
            rest_url=f"{base_url}/wmts/1.0.0/WMTSCapabilities.xml",
            provider="MapMap demo upstream",
        )

    async def _tile(self, layer: str, tms_id: str, matrix_id: str, row: str, col: str, fmt: str) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        fault = self.fault
        remaining = fault.remaining
        if fault.mode is not None and remaining is not None:
            if remaining <= 0:
                fault = Fault()
            else:
                fault.remaining = remaining - 1
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.mode == "error":
            return Response(b"upstream exploded", status_code=fault.status, media_type="text/plain")
        elif fault.mode == "garbage":
            return Response(b"<html>not a tile</html>", media_type="image/png")
        elif fault.mode == "empty":
            return Response(status_code=204)
        elif fault.mode == "notfound":
            return Response(b"no tile here", status_code=404)
        tms = GRIDS.get(tms_id)
        if layer != LAYER or tms is None:
            return Response(b"unknown layer or tile matrix set", status_code=400)
        try:
            z, _ = tms.matrix_by_id(matrix_id)
            index = tms.parse(z, col, row)
        except MapMapError as error:
            return Response(error.message.encode(), status_code=400)
        image = await asyncio.to_thread(render_tile, tms, index.z, index.x, index.y)
        body = await asyncio.to_thread(encode, image, fmt)
        return Response(body, media_type="image/jpeg" if fmt == "jpg" else "image/png")

    def app(self) -> Starlette:
        async def record(request: Request) -> None:
            self.requests.append(
                RecordedRequest(request.url.path, request.url.query, time.monotonic(), dict(request.headers))
            )

        def base(request: Request) -> str:
            # root_path keeps the templates right when this app is mounted under a prefix
            return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"

        async def kvp(request: Request) -> Response:
            await record(request)
            params = {k.upper(): v for k, v in request.query_params.items()}
            operation = params.get("REQUEST", "")
            if operation == "GetCapabilities":
                return self.capabilities_response(request, base(request))
            if operation == "GetTile":
                fmt = "jpg" if params.get("FORMAT") == "image/jpeg" else "png"
                return await self._tile(
                    params.get("LAYER", ""),
                    params.get("TILEMATRIXSET", ""),
                    params.get("TILEMATRIX", ""),
                    params.get("TILEROW", ""),
                    params.get("TILECOL", ""),
                    fmt,
                )
            return Response(b"unsupported request", status_code=400)

        async def rest_capabilities(request: Request) -> Response:
            await record(request)
            return self.capabilities_response(request, base(request))

        async def rest_tile(request: Request) -> Response:
            await record(request)
            p = request.path_params
            return await self._tile(p["layer"], p["tms"], p["matrix"], p["row"], p["col"], p["ext"])

        async def control(request: Request) -> Response:
            if request.method == "POST":
                body = await request.json()
                if body.get("reset"):
                    self.reset()
                self.delay = float(body.get("delay", self.delay))
                if "fault" in body:
                    fault = body["fault"] or {}
                    self.set_fault(fault.get("mode"), **{k: v for k, v in fault.items() if k != "mode"})
            return JSONResponse({"tile_requests": len(self.tile_requests()), "fault": self.fault.mode})

        routes = [
            Route("/wmts", kvp),
            Route("/wmts/1.0.0/WMTSCapabilities.xml", rest_capabilities),
            Route("/wmts/rest/{layer}/{style}/{tms}/{matrix}/{row}/{col}.{ext:str}", rest_tile),
            Route("/_control", control, methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes)


def _not_modified(request: Request, etag: str | None, changed_at: float, has_date: bool) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        return etag is not None and etag in {tag.strip() for tag in if_none_match.split(",")}
    since = request.headers.get("if-modified-since")
    if since and has_date:
        try:
            return changed_at <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="MapMap's offline demo WMTS upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    uvicorn.run(DemoUpstream().app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
