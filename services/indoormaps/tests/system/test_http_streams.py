"""Streams over real HTTP (uvicorn process): SSE exactly-once and resume, page/seq parity, filters,
client disconnects that leave no query behind, and the figures (batch timings, campus stream time)."""

from __future__ import annotations

import itertools
import json
import statistics
import time

import httpx
import psycopg
import pytest
from indoormaps_http_support import Service, SseEvent, SseReader

pytestmark = pytest.mark.postgres

LAYER_SIZES = {"rooms": 443, "openings": 472, "amenities": 37, "levels": 8, "base-floor": 96, "nav-edges": 3589}


def read_stream(
    url: str, headers: dict[str, str] | None = None, stop_after_batches: int | None = None
) -> tuple[list[SseEvent], SseReader, list[float]]:
    """Events of one SSE response, the reader (heartbeat count) and each event's arrival time."""
    events: list[SseEvent] = []
    arrivals: list[float] = []
    with httpx.stream("GET", url, headers=headers or {}, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        reader = SseReader(response.iter_lines())
        for event in reader:
            events.append(event)
            arrivals.append(time.perf_counter())
            batches = sum(1 for e in events if e.event == "batch")
            if stop_after_batches is not None and batches == stop_after_batches:
                break
    return events, reader, arrivals


def feature_ids(events: list[SseEvent]) -> list[str]:
    return [f["id"] for e in events if e.event == "batch" for f in e.json()["features"]]


@pytest.mark.parametrize(
    ("path", "layer"),
    [("/api/rooms/", "rooms"), ("/api/base-floor/", "base-floor"), ("/api/layers/openings/stream", "openings")],
)
def test_sse_delivers_every_feature_exactly_once(service: Service, path: str, layer: str) -> None:
    events, _, _ = read_stream(f"{service.url}{path}?batch_size=37")
    kinds = [e.event for e in events]
    assert kinds[0] == "start"
    assert events[0].retry == 3000  # `retry:` comes with the first event
    assert kinds[-1] == "end"
    assert set(kinds[1:-1]) == {"batch"}
    ids = feature_ids(events)
    assert len(ids) == len(set(ids)) == LAYER_SIZES[layer]
    batches = [e for e in events if e.event == "batch"]
    assert all(e.id for e in batches)  # every batch carries its resume cursor
    assert batches[-1].id == events[-1].id == "end"
    assert events[-1].json()["features"] == LAYER_SIZES[layer]
    # Page mode gives the same features with the same shape (on the same URL for the seed's paths).
    page_path = path.removesuffix("stream")
    page = httpx.get(f"{service.url}{page_path}", params={"limit": 37}).json()
    assert page["features"] == batches[0].json()["features"]
    assert page["next_cursor"] == batches[0].id


def test_resume_with_last_event_id(service: Service) -> None:
    url = f"{service.url}/api/layers/nav-edges/stream?batch_size=250"
    everything = feature_ids(read_stream(url)[0])
    first, _, _ = read_stream(url, stop_after_batches=3)  # the client goes away after 3 batches
    last_id = [e.id for e in first if e.event == "batch"][-1]
    rest, _, _ = read_stream(url, headers={"Last-Event-ID": last_id})
    assert rest[0].event == "start"
    assert feature_ids(first) + feature_ids(rest) == everything
    assert len(everything) == len(set(everything)) == LAYER_SIZES["nav-edges"]
    # Reconnecting after the final batch only confirms the end; nothing is sent twice.
    done, _, _ = read_stream(url, headers={"Last-Event-ID": "end"})
    assert [e.event for e in done] == ["start", "end"]
    # A cursor of another filter set is refused before the stream starts.
    other = httpx.get(url + "&level=1", headers={"Last-Event-ID": last_id})
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_cursor"


def test_page_mode_walks_the_layer_with_cursors(service: Service) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = httpx.get(f"{service.url}/api/layers/openings/", params=params).json()
        seen += [f["id"] for f in body["features"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == LAYER_SIZES["openings"]


def test_geojsonseq_and_ndjson(service: Service) -> None:
    seq = httpx.get(f"{service.url}/api/layers/rooms/seq", params={"batch_size": 100})
    assert seq.headers["content-type"] == "application/geo+json-seq"
    records = seq.content.split(b"\x1e")
    assert records[0] == b""
    features = [json.loads(r) for r in records[1:]]
    assert len({f["id"] for f in features}) == len(features) == LAYER_SIZES["rooms"]
    nd = httpx.get(f"{service.url}/api/layers/rooms/seq", params={"format": "ndjson", "level": 2})
    assert nd.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in nd.text.splitlines()]
    assert lines
    assert {f["properties"]["level"] for f in lines} == {2}
    # Same shape as page mode.
    page = httpx.get(f"{service.url}/api/rooms/", params={"limit": 3}).json()
    assert features[:3] == page["features"]


def test_filters_over_http(service: Service) -> None:
    search = httpx.get(f"{service.url}/api/rooms/", params={"q": "Clasroom 4O4a", "limit": 5}).json()
    assert search["features"][0]["properties"]["name"] == "Classroom 404a"
    level2 = feature_ids(read_stream(f"{service.url}/api/rooms/?level=2&batch_size=50")[0])
    assert 0 < len(level2) < LAYER_SIZES["rooms"]
    elevators = httpx.get(f"{service.url}/api/layers/amenities/", params={"category": "elevator", "limit": 50})
    assert len(elevators.json()["features"]) == 5
    box = {"bbox": "30.3805,60.0068,30.3835,60.0078", "limit": 1000}
    inside = httpx.get(f"{service.url}/api/rooms/", params=box).json()["features"]
    assert 0 < len(inside) < LAYER_SIZES["rooms"]


def _our_sessions(dsn: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state, query FROM pg_stat_activity WHERE application_name = 'indoormaps' "
            "AND datname = current_database()"
        ).fetchall()
    return [(str(state), query) for state, query in rows]


def test_client_disconnect_mid_stream_leaves_no_query_behind(service: Service) -> None:
    stream = f"{service.url}/api/layers/nav-edges/stream?batch_size=2000"
    seq = f"{service.url}/api/layers/nav-edges/seq?batch_size=500"
    for url in [stream, seq] * 6:
        # Read the first bytes and drop the connection while the server is reading the next batches.
        with httpx.stream("GET", url, timeout=10) as response:
            assert response.status_code == 200
            next(response.iter_bytes())
    deadline = time.monotonic() + 5
    sessions = _our_sessions(service.dsn)
    while time.monotonic() < deadline and any(state != "idle" for state, _ in sessions):
        time.sleep(0.05)
        sessions = _our_sessions(service.dsn)
    assert sessions  # the pool's connections are there ...
    assert all(state == "idle" for state, _ in sessions), sessions  # ... none running or mid-transaction
    health = httpx.get(f"{service.url}/ready").json()
    assert health["status"] == "pass"
    assert health["checks"]["pool"][0]["waiting"] == 0
    assert "Traceback" not in service.log_text()
    # And the service still streams.
    assert len(feature_ids(read_stream(f"{service.url}/api/rooms/")[0])) == LAYER_SIZES["rooms"]


def test_batch_timings_and_campus_stream_time(service: Service) -> None:
    """Figures for the report: per-batch arrival gaps over HTTP stay far inside the seed's 500 ms."""
    _, _, arrivals = read_stream(f"{service.url}/api/layers/nav-edges/stream?batch_size=200")
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    batch_gaps = gaps[1:-1]  # between batch events
    p50 = statistics.median(batch_gaps)
    assert max(batch_gaps) < 500
    first_half, second_half = batch_gaps[: len(batch_gaps) // 2], batch_gaps[len(batch_gaps) // 2 :]
    started = time.perf_counter()
    total = 0
    for layer in LAYER_SIZES:
        total += len(feature_ids(read_stream(f"{service.url}/api/layers/{layer}/stream")[0]))
    campus_s = time.perf_counter() - started
    assert total == sum(LAYER_SIZES.values())
    print(
        f"\nHTTP SSE nav-edges x200: {len(batch_gaps)} gaps, p50={p50:.1f} ms max={max(batch_gaps):.1f} ms "
        f"(first half median {statistics.median(first_half):.1f} ms, second {statistics.median(second_half):.1f} ms)"
        f"\nHTTP SSE whole campus (6 layers, {total} features, batch 500): {campus_s * 1000:.0f} ms"
    )
