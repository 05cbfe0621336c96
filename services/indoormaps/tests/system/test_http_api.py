"""The JSON API over real HTTP: hostile inputs, probes, OGC API Features, routing parity and latency."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid

import httpx
import psycopg
import pytest
from indoormaps.db import Database, open_pool
from indoormaps.navmodel import epsilon
from indoormaps.routing import OracleRouter, Profile, RoomEndpoint, choose_path
from indoormaps.routing.engine import PgRouter
from indoormaps.streams import current_version
from indoormaps_http_support import Service

pytestmark = pytest.mark.postgres

ROOM_104 = "Classroom 104"


@pytest.fixture(scope="module")
def client(service: Service) -> httpx.Client:
    with httpx.Client(base_url=service.url, timeout=10) as c:
        yield c  # type: ignore[misc]


def _room_ids(dsn: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT u.name, u.imdf_id::text, l.ordinal FROM indoor_unit u JOIN indoor_level l ON l.id = u.level_id "
            "JOIN indoor_data_version v ON v.id = u.version_id AND v.is_current "
            "JOIN indoor_building b ON b.id = l.building_id WHERE u.name IS NOT NULL AND b.name LIKE 'Acad%%' "
            "ORDER BY u.id"
        ).fetchall()
    return {name: (uid, level) for name, uid, level in rows}


# Probes -------------------------------------------------------------------------------------------


def test_probes(client: httpx.Client) -> None:
    health = client.get("/api/health/")
    assert health.status_code == 200
    assert health.json() == {"ok": True}
    ready = client.get("/ready").json()
    assert ready["status"] == "pass"
    assert set(ready["checks"]) == {"database", "pool", "data_version"}
    assert ready["checks"]["data_version"][0]["data_version"] >= 1
    metrics = client.get("/metrics").text
    assert "indoormaps_stream_batch_seconds" in metrics
    assert "indoormaps_requests_total" in metrics


# Hostile inputs -----------------------------------------------------------------------------------

BAD_REQUESTS = [
    ("/api/rooms/?limit=abc", "limit"),
    ("/api/rooms/?limit=-5", "limit"),
    ("/api/rooms/?limit=0", "limit"),
    ("/api/rooms/?limit=99999999999999999999999", "limit"),
    ("/api/layers/rooms/?limit=1e3", "limit"),
    ("/api/rooms/?bbox=-180,-90,180,90&limit=5", "bbox"),
    ("/api/rooms/?bbox=1,2,3&limit=5", "bbox"),
    ("/api/rooms/?bbox=nan,1,2,3&limit=5", "bbox"),
    ("/api/rooms/?bbox=30.39,60.0,30.38,60.01&limit=5", "bbox"),
    ("/api/rooms/?cursor=not-a-cursor", "cursor"),
    ("/api/rooms/?cursor=" + "A" * 600, "cursor"),
    ("/api/rooms/?level=99", "level"),
    ("/api/rooms/?level=two&limit=1", "level"),
    ("/api/rooms/?level=1&level=2&limit=1", "level"),
    ("/api/rooms/?q=" + "x" * 101 + "&limit=1", "q"),
    ("/api/rooms/?q=a%00b&limit=1", "q"),
    ("/api/rooms/?q=%01%02&limit=1", "q"),
    ("/api/rooms/?category=Robert');DROP TABLE indoor_unit;--&limit=1", "category"),
    ("/api/layers/rooms/stream?batch_size=100000", "batch_size"),
    ("/api/layers/rooms/stream?batch_size=-1", "batch_size"),
    ("/api/layers/rooms/seq?format=xml", "format"),
    ("/api/reachable/?room=not-a-uuid", "origin"),
    ("/api/reachable/?lon=30.38&lat=60.007&level=0&max_seconds=-1", "max_seconds"),
    ("/api/reachable/?lon=inf&lat=60&level=0", "lon"),
    ("/api/reachable/", "room"),
    ("/ogc/collections/rooms/items?limit=0", "limit"),
    ("/ogc/collections/rooms/items?limit=ten", "limit"),
    ("/ogc/collections/rooms/items?bbox=0,0,100,80", "bbox"),
    ("/ogc/collections/rooms/items?bbox-crs=EPSG:3857", "bbox-crs"),
    ("/ogc/collections/rooms/items?datetime=yesterday", "datetime"),
    ("/ogc/collections/rooms/items?unknown=1", "unknown"),
    ("/ogc/collections/rooms/items?f=html", "f"),
]


@pytest.mark.parametrize(("path", "param"), BAD_REQUESTS)
def test_bad_parameters_are_400_json(client: httpx.Client, path: str, param: str) -> None:
    response = client.get(path, headers={"Accept": "text/event-stream"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"error", "detail"}
    assert body["param"] == param
    assert "Traceback" not in response.text


def test_sql_in_q_is_refused_and_harmless(client: httpx.Client, service: Service) -> None:
    for probe in ("'; DROP TABLE indoor_unit; --", "x' OR 1=1 --", "%' UNION SELECT password FROM pg_shadow --"):
        response = client.get("/api/rooms/", params={"q": probe, "limit": 5})
        assert response.status_code == 400
        assert response.json()["param"] == "q"
    quoted = client.get("/api/rooms/", params={"q": "Coffee “Leto”", "limit": 5})  # quotes are name text
    assert quoted.json()["features"][0]["properties"]["name"] == "Coffee “Leto”"
    with psycopg.connect(service.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM indoor_unit").fetchone()[0] > 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/api/layers/secret/", 404, "not_found"),
        ("GET", "/static/../config.py", 404, "not_found"),
        ("GET", "/static/%2e%2e/app.py", 404, "not_found"),
        ("GET", "/static/..%2f..%2fetc%2fpasswd", 404, "not_found"),
        ("GET", "/ogc/collections/rooms/items/not-a-uuid", 404, "not_found"),
        ("GET", f"/ogc/collections/rooms/items/{uuid.UUID(int=7)}", 404, "not_found"),
        ("GET", "/ogc/collections/nav-edges/items/99999999999999999999", 404, "not_found"),
        ("GET", "/nothing/here", 404, "not_found"),
        ("DELETE", "/api/rooms/", 405, "method_not_allowed"),
        ("GET", "/api/route/", 405, "method_not_allowed"),
        ("POST", "/api/health/", 405, "method_not_allowed"),
    ],
)
def test_not_found_and_methods_are_json(client: httpx.Client, method: str, path: str, status: int, error: str) -> None:
    response = client.request(method, path)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


ROUTE_BAD_BODIES = [
    (b"{", "body"),
    (b"[]", "body"),
    (b'{"from": {"room": "x"}, "to": {"room": "y"}}', "from"),
    (b'{"to": {"lon": 30.38, "lat": 60.007, "level": 0}}', "from"),
    (b'{"from": {"lon": "a", "lat": 1}, "to": {"lon": 30.38, "lat": 60.007}}', "from"),
    (b'{"from": {"lon": NaN, "lat": 1}, "to": {"lon": 30.38, "lat": 60.007}}', "from"),
    (b'{"from": {"lon": 30.38, "lat": 60.007, "level": true}, "to": {"lon": 30.38, "lat": 60.007}}', "from"),
    (b'{"from": {"lon": 0, "lat": 0, "level": 0}, "to": {"lon": 30.38, "lat": 60.007, "level": 0}}', "point"),
    (b'{"from": {"lon": 30.38, "lat": 60.007, "level": 0}, "to": {"lon": 30.38, "lat": 60.007}, "via": 5}', "via"),
    (b'{"from": {"lon": 30.38, "lat": 60.007}, "to": {"lon": 30.38, "lat": 60.007}, "via": [{}, {}, {}, {}, {}, '
     b'{}, {}, {}, {}]}', "via"),
    (b'{"from": {"lon": 30.38, "lat": 60.007}, "to": {"lon": 30.38, "lat": 60.007}, "profile": "jetpack"}', "profile"),
    (b'{"from": {"lon": 30.38, "lat": 60.007}, "to": {"lon": 30.38, "lat": 60.007}, "algorithm": "bfs"}', "algorithm"),
    (b'{"from": {"lon": 30.38, "lat": 60.007}, "to": {"lon": 30.38, "lat": 60.007}, "evil": 1}', "evil"),
    (b'{"from": ' * 5000 + b"1" + b"}" * 5000, "body"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "param"), ROUTE_BAD_BODIES)
def test_bad_route_bodies_are_400(client: httpx.Client, body: bytes, param: str) -> None:
    response = client.post("/api/route/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["param"] == param


def test_route_body_type_and_size(client: httpx.Client) -> None:
    form = client.post("/api/route/", content=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert form.json()["error"] == "unsupported_media_type"
    huge = client.post("/api/route/", content=b" " * (11 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert huge.status_code == 413  # servicekit's body limit, before Django reads it


# OGC API Features ---------------------------------------------------------------------------------


def test_ogc_landing_conformance_and_collections(client: httpx.Client) -> None:
    landing = client.get("/ogc/").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert set(rels) >= {"self", "conformance", "data", "service-desc"}
    assert client.get(rels["service-desc"]).json()["openapi"].startswith("3.0")
    conformance = client.get(rels["conformance"]).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = client.get(rels["data"]).json()["collections"]
    assert {c["id"] for c in collections} == {"rooms", "base-floor", "openings", "amenities", "levels", "nav-edges"}
    rooms = next(c for c in collections if c["id"] == "rooms")
    minx, miny, maxx, maxy = rooms["extent"]["spatial"]["bbox"][0]
    assert 30.3 < minx < maxx < 30.5
    assert 59.9 < miny < maxy < 60.1
    assert client.get("/ogc/collections/rooms").json()["id"] == "rooms"


def test_ogc_items_follow_next_links_to_every_feature(client: httpx.Client) -> None:
    url: str | None = "/ogc/collections/openings/items?limit=100"
    ids: list[str] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/geo+json"
        body = response.json()
        assert body["numberReturned"] == len(body["features"])
        ids += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 5
    assert len(ids) == len(set(ids)) == 472
    # One item by id is the same feature as in the list, plus its links.
    item = client.get(f"/ogc/collections/openings/items/{ids[17]}").json()
    assert item["id"] == ids[17]
    assert {link["rel"] for link in item["links"]} == {"self", "collection"}


def test_ogc_items_filters_and_limit_clamp(client: httpx.Client) -> None:
    level = client.get("/ogc/collections/rooms/items", params={"level": 3, "limit": 1000}).json()
    assert level["features"]
    assert {f["properties"]["level"] for f in level["features"]} == {3}
    clamped = client.get("/ogc/collections/nav-edges/items", params={"limit": 5000}).json()
    assert clamped["numberReturned"] == 1000
    next_link = next(link["href"] for link in clamped["links"] if link["rel"] == "next")
    assert "limit=1000" in next_link
    box = client.get("/ogc/collections/rooms/items", params={"bbox": "30.3805,60.0068,30.3835,60.0078"}).json()
    assert 0 < box["numberReturned"] <= 10
    edge = client.get("/ogc/collections/nav-edges/items", params={"limit": 1}).json()["features"][0]
    assert client.get(f"/ogc/collections/nav-edges/items/{edge['id']}").json()["properties"] == edge["properties"]


# Routing ------------------------------------------------------------------------------------------


def test_route_step_free_takes_the_elevator(client: httpx.Client, service: Service) -> None:
    rooms = _room_ids(service.dsn)
    body = {"from": {"room": rooms[ROOM_104][0]}, "to": {"room": rooms["Classroom 404a"][0]}}
    default = client.post("/api/route/", json=body).json()
    step_free = client.post("/api/route/", json={**body, "profile": "step_free", "algorithm": "astar"}).json()
    assert step_free["profile"] == "step_free"
    assert step_free["algorithm"] == "astar"
    instructions = [s["instruction"] for s in step_free["steps"]]
    assert "Take the elevator to level 4" in instructions
    assert "stairs" not in [s["action"] for s in step_free["steps"]]
    assert step_free["duration_s"] >= default["duration_s"]
    assert step_free["segments"][0]["level"] == 0
    assert step_free["segments"][-1]["level"] == 3
    missing = client.post("/api/route/", json={**body, "to": {"room": str(uuid.UUID(int=5))}})
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_reachable_over_http(client: httpx.Client, service: Service) -> None:
    room = _room_ids(service.dsn)[ROOM_104][0]
    near = client.get("/api/reachable/", params={"room": room, "max_seconds": 30}).json()
    far = client.get("/api/reachable/", params={"room": room, "max_seconds": 120, "profile": "wheelchair"}).json()
    assert room in {r["room"] for r in near["rooms"]}
    assert all(r["seconds"] <= 30 for r in near["rooms"])
    assert len(far["rooms"]) > len(near["rooms"])
    assert far["profile"] == "wheelchair"


@pytest.mark.slow
def test_route_parity_with_the_oracle_and_latency(client: httpx.Client, service: Service) -> None:
    """HTTP answers equal the networkx oracle's optimal costs on random room pairs, for every profile."""

    async def oracle_costs(pairs: list[tuple[str, str]], profile: Profile) -> list[float | None]:
        pool = await open_pool(service.dsn, min_size=1, max_size=2)
        try:
            db = Database(pool, acquire_timeout_s=5)
            version = await current_version(db)
            oracle = await OracleRouter.load(db, version, profile)
            router = PgRouter(db)
            costs: list[float | None] = []
            for a, b in pairs:
                anchors = await router.anchors([RoomEndpoint(uuid.UUID(a)), RoomEndpoint(uuid.UUID(b))], profile)
                origin, goal = anchors
                table = oracle.path_table([c.node for c in origin.candidates], [c.node for c in goal.candidates])
                choice = choose_path(origin, goal, table)
                # The answer's duration is the walk without navmodel's tie-breaking epsilons.
                costs.append(None if choice is None else choice.cost - sum(epsilon(e) for e in choice.edges))
            return costs
        finally:
            await pool.close()

    rooms = [uid for uid, _ in _room_ids(service.dsn).values()]
    rng = random.Random("http-parity")
    timings: list[float] = []
    checked = 0
    for profile in Profile:
        pairs = [tuple(rng.sample(rooms, 2)) for _ in range(8)]
        expected = asyncio.run(oracle_costs(pairs, profile))  # type: ignore[arg-type]
        for (a, b), cost in zip(pairs, expected, strict=True):
            started = time.perf_counter()
            response = client.post("/api/route/", json={"from": {"room": a}, "to": {"room": b}, "profile": profile})
            timings.append((time.perf_counter() - started) * 1000)
            if cost is None:
                assert response.status_code == 404
                assert response.json()["error"] == "route_not_found"
                continue
            assert response.status_code == 200, response.text
            assert response.json()["duration_s"] == pytest.approx(cost, abs=0.051)  # rounded to 0.1 s
            checked += 1
    assert checked >= 15
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(f"\nHTTP ROUTE campus: n={len(timings)} p50={p50:.1f} ms p99={p99:.1f} ms max={timings[-1]:.1f} ms")
    assert p99 < 500


def test_route_from_a_point_exactly_on_a_graph_node(client: httpx.Client, service: Service) -> None:
    """Regression: a point snapped onto an edge's end gave PostGIS a degenerate substring (a Point)
    and the router crashed with a 500."""
    with psycopg.connect(service.dsn) as conn:
        lon, lat, level = conn.execute(
            "SELECT ST_X(ST_StartPoint(e.geom)), ST_Y(ST_StartPoint(e.geom)), l.ordinal FROM indoor_nav_edge e "
            "JOIN indoor_level l ON l.id = e.level_id JOIN indoor_data_version v ON v.id = e.version_id "
            "AND v.is_current WHERE NOT e.is_vertical AND l.ordinal = 0 ORDER BY e.id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    room = _room_ids(service.dsn)[ROOM_104][0]
    for body in (
        {"from": {"lon": lon, "lat": lat, "level": level}, "to": {"room": room}},
        {"from": {"room": room}, "to": {"lon": lon, "lat": lat, "level": level}},
    ):
        response = client.post("/api/route/", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["steps"][0]["action"] == "depart"


def test_rooms_without_a_linked_door_route_from_their_label_point(client: httpx.Client, service: Service) -> None:
    with psycopg.connect(service.dsn) as conn:
        doorless = [str(r[0]) for r in conn.execute(
            "SELECT u.imdf_id FROM indoor_unit u JOIN indoor_data_version v ON v.id = u.version_id AND v.is_current "
            "WHERE NOT EXISTS (SELECT 1 FROM indoor_opening o JOIN indoor_nav_node d ON d.opening_id = o.id "
            "WHERE o.version_id = u.version_id AND o.level_id = u.level_id AND ST_DWithin(o.geom, u.geom, 1e-6))"
        ).fetchall()]  # fmt: skip
    assert doorless  # the campus has a few: they are reached through the nearest edge
    target = _room_ids(service.dsn)[ROOM_104][0]
    for room in doorless:
        for profile in Profile:
            response = client.post(
                "/api/route/", json={"from": {"room": room}, "to": {"room": target}, "profile": profile.value}
            )
            assert response.status_code in (200, 404), response.text
            if response.status_code == 404:
                assert response.json()["error"] == "route_not_found"


def test_owslib_reads_the_map_as_ogc_api_features(service: Service) -> None:
    """A generic OGC client (OWSLib, as QGIS-style tools use) discovers and pages the layers."""
    from owslib.ogcapi.features import Features

    api = Features(f"{service.url}/ogc/")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert set(api.feature_collections()) == {"rooms", "base-floor", "openings", "amenities", "levels", "nav-edges"}
    assert api.collection("rooms")["extent"]["spatial"]["crs"].endswith("CRS84")
    page = api.collection_items("rooms", limit=20, level=2, bbox=[30.37, 60.0, 30.39, 60.01])
    assert page["numberReturned"] == 20
    assert {f["properties"]["level"] for f in page["features"]} == {2}
    seen = [f["id"] for f in page["features"]]
    while (cursor := next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)) is not None:
        token = httpx.URL(cursor).params["cursor"]
        page = api.collection_items("rooms", limit=20, level=2, bbox=[30.37, 60.0, 30.39, 60.01], cursor=token)
        seen += [f["id"] for f in page["features"]]
    assert len(seen) == len(set(seen)) > 20
    one = api.collection_item("rooms", seen[3])
    assert one["id"] == seen[3]
