"""MapMap as a WMTS 1.0 server: GetCapabilities (KVP and RESTful) and GetTile (KVP and RESTful)
over every endpoint, in WebMercatorQuad (256 px) and WebMercatorQuadx2 (512 px)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import Response

from mapmap.errors import InvalidTileRequest, NotFoundError
from mapmap.wmts_xml import LayerSpec, build_capabilities

if TYPE_CHECKING:
    from mapmap.config import Settings
    from mapmap.tiles import TileService

__all__ = ["TILE_MATRIX_SETS", "add_wmts_routes", "capabilities_document"]

TILE_MATRIX_SETS = {"WebMercatorQuad": 256, "WebMercatorQuadx2": 512}
_FORMATS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def capabilities_document(service: TileService, base_url: str) -> bytes:
    layers = []
    for endpoint in service.endpoints.values():
        name = endpoint.name
        rest = f"{base_url}/wmts/rest/{name}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}"
        layers.append(
            LayerSpec(
                identifier=name,
                title=endpoint.config.title or name,
                tile_matrix_sets=list(TILE_MATRIX_SETS),
                formats=list(_FORMATS),
                extra_templates={mime: f"{rest}.{ext}" for mime, ext in _FORMATS.items()},
            )
        )
    grids = [service.grids[256], service.grids[512]]
    return build_capabilities(
        title="MapMap WMTS",
        layers=layers,
        tile_matrix_sets=grids,
        kvp_url=f"{base_url}/wmts?",
        rest_url=f"{base_url}/wmts/1.0.0/WMTSCapabilities.xml",
    )


def add_wmts_routes(api: FastAPI, service: TileService, settings: Settings) -> None:
    from mapmap.app import tile_response

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def get_tile(
        request: Request, layer: str, style: str, tms: str, matrix: str, row: str, col: str, ext: str | None
    ) -> Response:
        size = TILE_MATRIX_SETS.get(tms)
        if size is None:
            raise NotFoundError(f"unknown TileMatrixSet {tms[:64]!r} (use {', '.join(TILE_MATRIX_SETS)})")
        if style not in ("default", ""):
            raise NotFoundError(f"unknown style {style[:64]!r} (only 'default')")
        tile = await service.get(layer, matrix, col, row, extension=ext, tile_size=size)
        return tile_response(request, settings, tile)

    @api.get("/wmts")
    async def kvp(request: Request) -> Response:
        params = {key.upper(): value for key, value in request.query_params.items()}
        if params.get("SERVICE", "WMTS").upper() != "WMTS":
            raise InvalidTileRequest("SERVICE must be WMTS")
        operation = params.get("REQUEST", "")
        if operation.lower() == "getcapabilities":
            return Response(capabilities_document(service, base(request)), media_type="application/xml")
        if operation.lower() == "gettile":
            missing = [p for p in ("LAYER", "TILEMATRIXSET", "TILEMATRIX", "TILEROW", "TILECOL") if p not in params]
            if missing:
                raise InvalidTileRequest(f"GetTile needs {', '.join(missing)}")
            fmt = params.get("FORMAT", "image/png")
            if fmt not in _FORMATS:
                raise InvalidTileRequest(f"unsupported FORMAT {fmt[:40]!r} (use {', '.join(_FORMATS)})")
            return await get_tile(
                request, params["LAYER"], params.get("STYLE", "default"), params["TILEMATRIXSET"],
                params["TILEMATRIX"], params["TILEROW"], params["TILECOL"], _FORMATS[fmt],
            )  # fmt: skip
        raise InvalidTileRequest("REQUEST must be GetCapabilities or GetTile")

    @api.get("/wmts/1.0.0/WMTSCapabilities.xml")
    async def rest_capabilities(request: Request) -> Response:
        return Response(capabilities_document(service, base(request)), media_type="application/xml")

    @api.get("/wmts/rest/{layer}/{style}/{tms}/{matrix}/{row}/{col_ext}")
    async def rest_tile(
        request: Request, layer: str, style: str, tms: str, matrix: str, row: str, col_ext: str
    ) -> Response:
        col, _, ext = col_ext.partition(".")
        return await get_tile(request, layer, style, tms, matrix, row, col, ext or None)
