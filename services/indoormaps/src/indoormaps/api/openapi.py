"""The OpenAPI 3.0 document of the HTTP API, maintained by hand next to the views.

drf-spectacular describes DRF views; these are plain async Django views (DRF has no async
streaming views), so the document is written here and checked by schemathesis in the tests.
Limits in the document come from the running Settings, so generated requests probe real bounds.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from indoormaps import __version__
from indoormaps.api.http import json_response, runtime_of, typed_errors
from indoormaps.config import Settings
from indoormaps.layers import LAYERS
from indoormaps.routing import MAX_VIA, Algorithm, Profile

__all__ = ["openapi_document", "schema_view"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


_ERRORS = {
    "400": _error("a parameter is invalid"),
    "404": _error("no such layer, feature or room"),
    "410": _error("the cursor's data version has been replaced: restart without a cursor"),
    "503": _error("database busy (pool exhausted), timed out or no data loaded; retry later"),
}


def _param(name: str, schema: dict[str, Any], description: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema, "description": description}


def openapi_document(settings: Settings) -> dict[str, Any]:
    layer_names = sorted(LAYERS)
    filters = [
        _param(
            "q",
            {"type": "string", "maxLength": 100},
            "typo-tolerant name search (pg_trgm), ranked; letters, digits, spaces and name punctuation only",
        ),
        _param("level", {"type": "integer", "minimum": -20, "maximum": 200}, "level ordinal"),
        _param(
            "bbox",
            {"type": "string"},
            f"minLon,minLat,maxLon,maxLat (EPSG:4326), at most {settings.MAX_BBOX_SIDE_M:.0f} m across",
        ),
        _param("category", {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}, "IMDF category"),
    ]
    limit = _param(
        "limit", {"type": "integer", "minimum": 1, "maximum": settings.PAGE_MAX_LIMIT}, "page size (page mode)"
    )
    cursor = _param("cursor", {"type": "string", "maxLength": 512}, "opaque cursor from a previous page/event")
    batch = _param(
        "batch_size", {"type": "integer", "minimum": 1, "maximum": settings.SSE_MAX_BATCH_SIZE}, "features per batch"
    )
    last_event = _param("Last-Event-ID", {"type": "string", "maxLength": 512}, "resume a stream", "header")
    layer = _param("layer", {"type": "string", "enum": layer_names}, "layer name", "path")
    collection = _param("collectionId", {"type": "string", "enum": layer_names}, "collection id", "path")
    # One schema per event (how schemathesis and OpenAPI 3.2's itemSchema read an event stream).
    sse = {"text/event-stream": {"schema": _ref("ServerSentEvent")}}
    page = {"application/geo+json": {"schema": _ref("FeaturePage")}}

    def stream_or_page(summary: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "description": "Server-Sent Events (start, batch…, end; id = resume cursor) unless `limit` "
                "or `cursor` is given, which selects page mode (a FeatureCollection with next_cursor).",
                "parameters": [*filters, limit, cursor, batch, last_event],
                "responses": {"200": {"description": "stream or page", "content": {**sse, **page}}, **_ERRORS},
            }
        }

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "indoormaps",
            "version": __version__,
            "description": "Indoor maps on PostGIS: layers as keyset pages, SSE streams and OGC API Features; "
            "multi-floor routing with pgRouting.",
        },
        "paths": {
            "/api/rooms/": stream_or_page("Rooms: SSE stream (default) or a page"),
            "/api/base-floor/": stream_or_page("Base floor geometry: SSE stream (default) or a page"),
            "/api/layers/": {
                "get": {
                    "summary": "The layers and their endpoints",
                    "responses": {
                        "200": {
                            "description": "layers",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["layers"],
                                        "properties": {"layers": {"type": "array"}},
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/layers/{layer}/": {
                "get": {
                    "summary": "One page of a layer (keyset pagination)",
                    "parameters": [layer, *filters, limit, cursor],
                    "responses": {"200": {"description": "a page", "content": page}, **_ERRORS},
                }
            },
            "/api/layers/{layer}/stream": {
                "get": {
                    "summary": "A layer as Server-Sent Events in keyset batches",
                    "parameters": [layer, *filters, batch, cursor, last_event],
                    "responses": {"200": {"description": "event stream", "content": sse}, **_ERRORS},
                }
            },
            "/api/layers/{layer}/seq": {
                "get": {
                    "summary": "A layer as GeoJSONSeq (RFC 8142) or NDJSON",
                    "parameters": [
                        layer,
                        *filters,
                        batch,
                        _param("format", {"type": "string", "enum": ["geojsonseq", "ndjson"]}, "output format"),
                    ],
                    "responses": {
                        "200": {
                            "description": "one feature per record",
                            "content": {
                                "application/geo+json-seq": {"schema": {"type": "string"}},
                                "application/x-ndjson": {"schema": {"type": "string"}},
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
            "/api/route/": {
                "post": {
                    "summary": "Route between rooms/points, optionally via waypoints",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("RouteRequest")}},
                    },
                    "responses": {
                        "200": {"description": "the route", "content": {"application/json": {"schema": _ref("Route")}}},
                        "415": _error("the body is not application/json"),
                        **_ERRORS,
                    },
                }
            },
            "/api/reachable/": {
                "get": {
                    "summary": "Rooms reachable within max_seconds (isochrone)",
                    "parameters": [
                        _param("room", {"type": "string", "format": "uuid"}, "origin room"),
                        _param("lon", {"type": "number", "minimum": -180, "maximum": 180}, "origin longitude"),
                        _param("lat", {"type": "number", "minimum": -90, "maximum": 90}, "origin latitude"),
                        _param("level", {"type": "integer"}, "origin level ordinal (omit: outdoors)"),
                        _param(
                            "max_seconds",
                            {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 3600},
                            "time budget",
                        ),
                        _param("profile", {"type": "string", "enum": [p.value for p in Profile]}, "profile"),
                    ],
                    "responses": {
                        "200": {"description": "rooms", "content": {"application/json": {"schema": _ref("Reach")}}},
                        **_ERRORS,
                    },
                }
            },
            "/api/schema/": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {}}}},
                }
            },
            "/ogc/": {"get": _ogc("OGC API landing page", [], "Landing")},
            "/ogc/conformance": {"get": _ogc("OGC API conformance classes", [], "Conformance")},
            "/ogc/collections": {"get": _ogc("Feature collections", [], "Collections")},
            "/ogc/collections/{collectionId}": {"get": _ogc("One collection", [collection], "Collection")},
            "/ogc/collections/{collectionId}/items": {
                "get": {
                    "summary": "Features of a collection (follow `next` links)",
                    "parameters": [
                        collection,
                        _param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 10},
                            f"page size (clamped to {settings.PAGE_MAX_LIMIT})",
                        ),
                        _param(
                            "bbox",
                            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                            "minLon,minLat,maxLon,maxLat",
                        ),
                        _param("datetime", {"type": "string"}, "accepted; layers have no time property"),
                        *[f for f in filters if f["name"] != "bbox"],
                        cursor,
                    ],
                    "responses": {
                        "200": {
                            "description": "features",
                            "content": {"application/geo+json": {"schema": _ref("FeaturePage")}},
                        },
                        **_ERRORS,
                    },
                }
            },
            "/ogc/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "summary": "One feature",
                    "parameters": [collection, _param("featureId", {"type": "string"}, "feature id", "path")],
                    "responses": {
                        "200": {
                            "description": "a feature",
                            "content": {"application/geo+json": {"schema": _ref("Feature")}},
                        },
                        **_ERRORS,
                    },
                }
            },
        },
        "components": {"schemas": _schemas()},
    }


def _ogc(summary: str, parameters: list[dict[str, Any]], schema: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [*parameters, _param("f", {"type": "string", "enum": ["json"]}, "format")],
        "responses": {
            "200": {"description": summary, "content": {"application/json": {"schema": _ref(schema)}}},
            **_ERRORS,
        },
    }


def _schemas() -> dict[str, Any]:
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    endpoint = {
        "oneOf": [
            {
                "type": "object",
                "required": ["room"],
                "additionalProperties": False,
                "properties": {"room": {"type": "string", "format": "uuid"}},
            },
            {
                "type": "object",
                "required": ["lon", "lat"],
                "additionalProperties": False,
                "properties": {
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "level": {"type": "integer", "nullable": True},
                },
            },
        ]
    }
    return {
        "ServerSentEvent": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "event": {"type": "string", "enum": ["start", "batch", "end", "error"]},
                "id": {"type": "string", "description": "the cursor resuming after this batch; 'end' when done"},
                "data": {"type": "string", "description": "JSON: a FeatureCollection for batch events"},
                "retry": {"type": "integer"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {"error": {"type": "string"}, "detail": {"type": "string"}, "param": {"type": "string"}},
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "geometry": {"type": "object", "nullable": True},
                "properties": {"type": "object"},
                "links": {"type": "array", "items": link},
            },
        },
        "FeaturePage": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("Feature")},
                "next_cursor": {"type": "string", "nullable": True},
                "data_version": {"type": "integer"},
                "links": {"type": "array", "items": link},
                "numberReturned": {"type": "integer"},
            },
        },
        "Endpoint": endpoint,
        "RouteRequest": {
            "type": "object",
            "required": ["from", "to"],
            "additionalProperties": False,
            "properties": {
                "from": _ref("Endpoint"),
                "to": _ref("Endpoint"),
                "via": {"type": "array", "maxItems": MAX_VIA, "items": _ref("Endpoint")},
                "profile": {"type": "string", "enum": [p.value for p in Profile]},
                "algorithm": {"type": "string", "enum": [a.value for a in Algorithm]},
            },
        },
        "Route": {
            "type": "object",
            "required": ["total_m", "duration_s", "segments", "steps"],
            "properties": {
                "profile": {"type": "string"},
                "algorithm": {"type": "string"},
                "data_version": {"type": "integer"},
                "total_m": {"type": "number"},
                "duration_s": {"type": "number"},
                "segments": {"type": "array", "items": {"type": "object"}},
                "steps": {"type": "array", "items": {"type": "object"}},
                "elapsed_ms": {"type": "number"},
            },
        },
        "Reach": {
            "type": "object",
            "required": ["rooms"],
            "properties": {"rooms": {"type": "array", "items": {"type": "object"}}},
        },
        "Landing": {"type": "object", "required": ["links"], "properties": {"links": {"type": "array", "items": link}}},
        "Conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "Collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {"id": {"type": "string"}, "links": {"type": "array", "items": link}},
        },
        "Collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": {"type": "array", "items": link},
                "collections": {"type": "array", "items": _ref("Collection")},
            },
        },
    }


@typed_errors("GET")
async def schema_view(request: HttpRequest) -> HttpResponse:
    return json_response(openapi_document(runtime_of(request).settings))
