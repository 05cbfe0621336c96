"""Feature reads over HTTP: page mode, SSE streams and GeoJSONSeq/NDJSON, one feature shape for all.

Every mode reads keyset batches from FeatureStore, so no connection is held between batches. The
first batch is read before the response starts, so a bad cursor (400), an expired snapshot (410)
or an exhausted pool (503) still gets its HTTP status; a failure later in a stream is sent as an
`error` event. Streams end on client disconnect (Django cancels the task, psycopg cancels the
query in the server) and on server shutdown (servicekit.sse / until_shutdown).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from servicekit import until_shutdown
from servicekit.sse import SSE_HEADERS, sse_event, sse_stream

from indoormaps.api.http import error_body, json_response, runtime_of, single_params, typed_errors
from indoormaps.api.runtime import Runtime
from indoormaps.errors import IndoorMapsError, InvalidParameter
from indoormaps.layers import LAYERS, get_layer
from indoormaps.query import FeatureQuery, parse_limit
from indoormaps.streams import Batch

__all__ = [
    "END_ID",
    "base_floor",
    "layer_list",
    "layer_page",
    "layer_seq",
    "layer_stream",
    "rooms",
]

END_ID = "end"  # the id of the last batch and of the end event: "everything was delivered"
_FILTERS = ("q", "level", "bbox", "category")
_RS = b"\x1e"  # RFC 8142 record separator


def _query(runtime: Runtime, params: dict[str, str]) -> FeatureQuery:
    return FeatureQuery.from_params(params, runtime.settings.query_limits)


def _batch_size(runtime: Runtime, raw: str | None) -> int:
    s = runtime.settings
    if raw is None or raw.strip() == "":
        return s.SSE_BATCH_SIZE
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidParameter("batch_size", f"expected an integer, got {raw[:20]!r}") from None
    if not 1 <= value <= s.SSE_MAX_BATCH_SIZE:
        raise InvalidParameter("batch_size", f"must lie in [1, {s.SSE_MAX_BATCH_SIZE}]")
    return value


def _observe(runtime: Runtime, batch: Batch) -> None:
    if runtime.metrics is not None:
        runtime.metrics.batch_seconds.labels(batch.layer).observe(batch.elapsed_ms / 1000)
        runtime.metrics.features_total.labels(batch.layer).inc(len(batch.features))


# Page mode ---------------------------------------------------------------------------------------


async def _page(request: HttpRequest, layer: str) -> HttpResponse:
    runtime = runtime_of(request)
    get_layer(layer)
    params = single_params(request)
    limit = parse_limit(params.get("limit"), runtime.settings.query_limits)
    cursor = params.get("cursor") or None
    batch = await runtime.feature_store().page(layer, _query(runtime, params), limit=limit, cursor=cursor)
    _observe(runtime, batch)
    return json_response(
        batch.feature_collection_text(),
        content_type="application/geo+json",
        headers={"X-Data-Version": str(batch.version)},
    )


@typed_errors("GET")
async def layer_page(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /api/layers/{layer}/?limit=&cursor=&q=&level=&bbox=&category= → one FeatureCollection page."""
    return await _page(request, layer)


@typed_errors("GET")
async def layer_list(request: HttpRequest) -> HttpResponse:
    layers = [
        {
            "name": layer.name,
            "title": layer.title,
            "filters": [
                name
                for name, sql in (
                    ("level", layer.level_sql),
                    ("category", layer.category_sql),
                    ("q", layer.search_sql),
                    ("bbox", "geom"),
                )
                if sql
            ],
            "page": f"/api/layers/{layer.name}/",
            "stream": f"/api/layers/{layer.name}/stream",
            "seq": f"/api/layers/{layer.name}/seq",
            "ogc": f"/ogc/collections/{layer.name}",
        }
        for layer in LAYERS.values()
    ]
    return json_response({"layers": layers})


# SSE ---------------------------------------------------------------------------------------------


async def _sse_events(
    runtime: Runtime,
    layer: str,
    query: FeatureQuery,
    batch_size: int,
    first: Batch | None,
) -> AsyncIterator[bytes]:
    """start → batch* → end; each batch's id is the cursor that resumes right after it."""
    s = runtime.settings
    store = runtime.feature_store()
    started = time.perf_counter()
    if runtime.metrics is not None:
        runtime.metrics.open_streams.inc()
    try:
        if first is None:  # resumed after the last batch: nothing left to send
            yield sse_event({"layer": layer, "resumed": True}, event="start", retry_ms=s.SSE_RETRY_MS)
            yield sse_event({"layer": layer, "features": 0, "batches": 0}, event="end", id=END_ID)
            return
        version = first.version
        yield sse_event(
            {"layer": layer, "data_version": version, "batch_size": batch_size},
            event="start",
            retry_ms=s.SSE_RETRY_MS,
        )
        batch: Batch | None = first
        features = batches = 0
        while batch is not None:
            _observe(runtime, batch)
            features += len(batch.features)
            batches += 1
            yield sse_event(batch.feature_collection_text(), event="batch", id=batch.next_cursor or END_ID)
            if batch.next_cursor is None:
                break
            try:
                # A client disconnect cancels this await: psycopg then cancels the query in the server.
                batch = await store.page(layer, query, limit=batch_size, cursor=batch.next_cursor)
            except IndoorMapsError as exc:
                # The client keeps its Last-Event-ID and may retry after `retry:`; say why we stopped.
                yield sse_event(error_body(exc), event="error")
                return
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        end = {"layer": layer, "data_version": version, "features": features, "batches": batches, "ms": elapsed}
        yield sse_event(end, event="end", id=END_ID)
    finally:
        if runtime.metrics is not None:
            runtime.metrics.open_streams.dec()


async def _stream(request: HttpRequest, layer: str) -> HttpResponse:
    runtime = runtime_of(request)
    get_layer(layer)
    params = single_params(request)
    query = _query(runtime, params)
    batch_size = _batch_size(runtime, params.get("batch_size"))
    # A reconnecting EventSource sends Last-Event-ID; it wins over a `cursor` parameter.
    resume = request.headers.get("Last-Event-ID") or params.get("cursor") or None
    first: Batch | None = None
    if resume != END_ID:
        first = await runtime.feature_store().page(layer, query, limit=batch_size, cursor=resume)
    events = sse_stream(
        _sse_events(runtime, layer, query, batch_size, first),
        heartbeat_seconds=runtime.settings.SSE_HEARTBEAT_SECONDS,
    )
    response = StreamingHttpResponse(events, status=200)
    for key, value in SSE_HEADERS.items():
        response[key] = value
    return response


@typed_errors("GET")
async def layer_stream(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /api/layers/{layer}/stream → text/event-stream of keyset batches."""
    return await _stream(request, layer)


def _page_mode(request: HttpRequest) -> bool:
    return "limit" in request.GET or "cursor" in request.GET


@typed_errors("GET")
async def rooms(request: HttpRequest) -> HttpResponse:
    """The seed's /api/rooms/: SSE by default, page mode with `limit` or `cursor`."""
    return await (_page(request, "rooms") if _page_mode(request) else _stream(request, "rooms"))


@typed_errors("GET")
async def base_floor(request: HttpRequest) -> HttpResponse:
    """The seed's /api/base-floor/: SSE by default, page mode with `limit` or `cursor`."""
    return await (_page(request, "base-floor") if _page_mode(request) else _stream(request, "base-floor"))


# GeoJSONSeq / NDJSON -----------------------------------------------------------------------------


async def _records(
    runtime: Runtime,
    layer: str,
    query: FeatureQuery,
    first: Batch,
    batch_size: int,
    rs: bool,
) -> AsyncIterator[bytes]:
    store = runtime.feature_store()
    batch: Batch | None = first
    prefix = _RS if rs else b""
    while batch is not None:
        _observe(runtime, batch)
        yield b"".join(prefix + feature.encode() + b"\n" for feature in batch.features)
        if batch.next_cursor is None:
            return
        try:
            batch = await store.page(layer, query, limit=batch_size, cursor=batch.next_cursor)
        except IndoorMapsError:
            return  # the status is sent already; a truncated sequence is detectable by its consumer


@typed_errors("GET")
async def layer_seq(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /api/layers/{layer}/seq → application/geo+json-seq (RFC 8142), or NDJSON with format=ndjson."""
    runtime = runtime_of(request)
    get_layer(layer)
    params = single_params(request)
    fmt = params.get("format", "geojsonseq")
    if fmt not in ("geojsonseq", "ndjson"):
        raise InvalidParameter("format", "expected 'geojsonseq' or 'ndjson'")
    query = _query(runtime, params)
    batch_size = _batch_size(runtime, params.get("batch_size"))
    first = await runtime.feature_store().page(layer, query, limit=batch_size)
    content_type = "application/geo+json-seq" if fmt == "geojsonseq" else "application/x-ndjson"
    records = _records(runtime, layer, query, first, batch_size, fmt == "geojsonseq")
    response = StreamingHttpResponse(until_shutdown(records))
    response["Content-Type"] = content_type
    response["X-Data-Version"] = str(first.version)
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-cache"
    return response


def feature_collection(features: list[str], extra: dict[str, Any]) -> str:
    """A FeatureCollection around database-built feature texts (never parsed in Python)."""
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]," + json.dumps(extra)[1:]
