"""OGC API - Features Part 1 (Core + GeoJSON + OpenAPI 3.0) over the same layers and keyset pages.

Generic clients (QGIS, OWSLib, pygeoapi's tooling) follow `next` links, which carry our signed
cursor; `limit` above the maximum is clamped, as the standard permits. Unknown query parameters
are a 400 (Requirement /req/core/query-param-unknown).
"""

# ruff: noqa: S608 - SQL text comes from Layer constants; request values are bound parameters

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse

from indoormaps.api.features import feature_collection
from indoormaps.api.http import json_response, link, runtime_of, single_params, typed_errors
from indoormaps.errors import InvalidParameter, NoDataLoaded, NotFound
from indoormaps.layers import LAYERS, Layer, get_layer
from indoormaps.query import FeatureQuery
from indoormaps.streams import current_version

__all__ = ["CONFORMANCE", "collection", "collections", "conformance", "item", "items", "landing"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
_JSON = "application/json"
_GEOJSON = "application/geo+json"
_ITEMS_PARAMS = ("limit", "bbox", "bbox-crs", "datetime", "level", "q", "category", "cursor", "f")


def _check_format(params: dict[str, str]) -> None:
    if params.get("f", "json") not in ("json", "geojson"):
        raise InvalidParameter("f", "only 'json' is offered")


@typed_errors("GET")
async def landing(request: HttpRequest) -> HttpResponse:
    _check_format(single_params(request, ("f",)))
    return json_response(
        {
            "title": "indoormaps",
            "description": "Indoor map layers (rooms, base floor, doors, amenities, levels, navigation network)",
            "links": [
                {"href": link(request, "/ogc/"), "rel": "self", "type": _JSON, "title": "this document"},
                {
                    "href": link(request, "/api/schema/"),
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "the API definition",
                },
                {
                    "href": link(request, "/ogc/conformance"),
                    "rel": "conformance",
                    "type": _JSON,
                    "title": "conformance classes",
                },
                {"href": link(request, "/ogc/collections"), "rel": "data", "type": _JSON, "title": "collections"},
            ],
        }
    )


@typed_errors("GET")
async def conformance(request: HttpRequest) -> HttpResponse:
    _check_format(single_params(request, ("f",)))
    return json_response({"conformsTo": CONFORMANCE})


async def _version(request: HttpRequest) -> int:
    return await current_version(runtime_of(request).db)


async def _collection_doc(request: HttpRequest, layer: Layer, version: int) -> dict[str, Any]:
    runtime = runtime_of(request)
    bbox = await runtime.extent(version, layer.from_sql, layer.name)
    base = f"/ogc/collections/{layer.name}"
    doc: dict[str, Any] = {
        "id": layer.name,
        "title": layer.title,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": link(request, base), "rel": "self", "type": _JSON, "title": layer.title},
            {"href": link(request, base + "/items"), "rel": "items", "type": _GEOJSON, "title": "items"},
        ],
    }
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


@typed_errors("GET")
async def collections(request: HttpRequest) -> HttpResponse:
    _check_format(single_params(request, ("f",)))
    version = await _version(request)
    docs = [await _collection_doc(request, layer, version) for layer in LAYERS.values()]
    return json_response(
        {
            "links": [{"href": link(request, "/ogc/collections"), "rel": "self", "type": _JSON}],
            "collections": docs,
        }
    )


@typed_errors("GET")
async def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    _check_format(single_params(request, ("f",)))
    layer = get_layer(collection_id)
    return json_response(await _collection_doc(request, layer, await _version(request)))


def _ogc_limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidParameter("limit", f"expected an integer, got {raw[:20]!r}") from None
    if value < 1:
        raise InvalidParameter("limit", "must be at least 1")
    return min(value, maximum)


def _check_datetime(raw: str | None) -> None:
    # No layer has a temporal property, so a valid datetime matches everything; a malformed one is a 400.
    if raw is None:
        return
    for part in raw.split("/"):
        if part in ("..", ""):
            continue
        try:
            dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameter("datetime", "expected an RFC 3339 instant or interval") from None


@typed_errors("GET")
async def items(request: HttpRequest, collection_id: str) -> HttpResponse:
    runtime = runtime_of(request)
    layer = get_layer(collection_id)
    params = single_params(request, _ITEMS_PARAMS)
    _check_format(params)
    if params.get("bbox-crs", CRS84) != CRS84:
        raise InvalidParameter("bbox-crs", f"only {CRS84} is supported")
    _check_datetime(params.get("datetime"))
    limits = runtime.settings.query_limits
    limit = _ogc_limit(params.get("limit"), min(10, limits.max_limit), limits.max_limit)
    query = FeatureQuery.from_params(params, limits)
    page = await runtime.feature_store().page(layer.name, query, limit=limit, cursor=params.get("cursor") or None)
    base = f"/ogc/collections/{layer.name}/items"
    keep = {k: v for k, v in params.items() if k not in ("cursor", "limit")}
    links = [
        {"href": link(request, base, {**params}), "rel": "self", "type": _GEOJSON},
        {"href": link(request, f"/ogc/collections/{layer.name}"), "rel": "collection", "type": _JSON},
    ]
    if page.next_cursor:
        links.append(
            {
                "href": link(request, base, {**keep, "limit": limit, "cursor": page.next_cursor}),
                "rel": "next",
                "type": _GEOJSON,
                "title": "next page",
            }
        )
    body = feature_collection(
        page.features,
        {
            "links": links,
            "numberReturned": len(page.features),
            "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_version": page.version,
        },
    )
    return json_response(body, content_type=_GEOJSON)


def _feature_key(layer: Layer, raw: str) -> Any:
    """Parse the id in the type of the layer's id column; an id that cannot exist is a 404."""
    try:
        if layer.feature_id_sql.endswith("imdf_id"):
            return uuid.UUID(raw)
        value = int(raw)
        if not 0 < value < 2**63:
            raise ValueError
        return value
    except ValueError:
        raise NotFound(f"no feature {raw[:80]!r} in collection {layer.name!r}") from None


@typed_errors("GET")
async def item(request: HttpRequest, collection_id: str, feature_id: str) -> HttpResponse:
    runtime = runtime_of(request)
    layer = get_layer(collection_id)
    _check_format(single_params(request, ("f",)))
    key = _feature_key(layer, feature_id)
    async with runtime.db.read() as conn:
        cur = await conn.execute("SELECT id FROM indoor_data_version WHERE is_current")
        row = await cur.fetchone()
        if row is None:
            raise NoDataLoaded("no data imported yet: run `indoormaps demo-data` or `indoormaps import imdf`")
        cur = await conn.execute(
            f"SELECT {layer.feature_json_sql()} FROM {layer.from_sql} "
            f"WHERE f.version_id = %s AND {layer.feature_id_sql} = %s LIMIT 1",
            (row[0], key),
        )
        found = await cur.fetchone()
    if found is None:
        raise NotFound(f"no feature {feature_id[:80]!r} in collection {layer.name!r}")
    base = f"/ogc/collections/{layer.name}"
    links = [
        {"href": link(request, f"{base}/items/{feature_id}"), "rel": "self", "type": _GEOJSON},
        {"href": link(request, base), "rel": "collection", "type": _JSON},
    ]
    text: str = found[0]
    body = text[:-1] + ',"links":' + json.dumps(links) + "}"
    return json_response(body, content_type=_GEOJSON)
