"""The web app through HTTP (create_app + httpx.ASGITransport): the upload → report → download flow,
session isolation, CSRF, and hostile inputs (XSS, XXE, DOT bombs, oversize, wrong type, traversal)."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOP = (FIXTURES / "golden" / "shop.dot").read_bytes()
RID = re.compile(r"^/results/([0-9a-f]{16})$")


async def converted(browser: Any, **kwargs: Any) -> str:
    """Convert and follow to the result; returns the result URL."""
    response = await browser.convert(**kwargs)
    assert response.status_code == 303, response.text[:2000]
    location = response.headers["location"]
    assert RID.match(location)
    return location


async def test_upload_report_and_downloads(web_app: Any, assert_xsd_valid: Any) -> None:
    browser = web_app()
    url = await converted(browser, file=("shop.dot", SHOP))
    page = await browser.http.get(url)
    assert page.status_code == 200
    assert "Valid ArchiMate model" in page.text
    assert "shop.dot" in page.text
    assert "DataObject" in page.text  # the report's element counts
    assert page.headers["cache-control"] == "no-store"

    xml = await browser.http.get(f"{url}/files/model.xml")
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.headers["content-disposition"] == "attachment; filename=\"shop.xml\"; filename*=UTF-8''shop.xml"
    assert_xsd_valid(xml.content)
    root = etree.fromstring(xml.content)
    bounds = root.findall(".//{*}node")
    assert bounds
    assert all(int(n.get("x")) >= 0 and int(n.get("y")) >= 0 for n in bounds)

    archi = await browser.http.get(f"{url}/files/model.archimate")
    assert archi.status_code == 200
    assert b"archimate:model" in archi.content
    csv = await browser.http.get(f"{url}/files/model-csv.zip")
    names = zipfile.ZipFile(io.BytesIO(csv.content)).namelist()
    assert sorted(names) == ["elements.csv", "properties.csv", "relations.csv"]
    report = (await browser.http.get(f"{url}/files/report.json")).json()
    assert report["valid"] is True
    assert report["xsd"] == {"checked": True, "valid": True, "errors": []}
    explain = (await browser.http.get(f"{url}/files/explain.json")).json()
    assert {e["kind"] for e in explain} >= {"element", "relationship"}

    view = await browser.http.get(f"{url}/files/view-0.svg")
    assert view.headers["content-type"] == "image/svg+xml"
    assert view.headers["content-security-policy"].startswith("default-src 'none'")
    assert etree.fromstring(view.content).tag == "{http://www.w3.org/2000/svg}svg"
    assert (await browser.http.get(f"{url}/files/input.svg")).status_code == 200
    assert 'src="' + url + '/files/view-0.svg"' in page.text

    home = await browser.http.get("/")
    assert url in home.text  # listed under "your conversions"


async def test_pasted_text_and_options(web_app: Any) -> None:
    browser = web_app()
    url = await converted(browser, text="digraph pasted { a -> b }", options="1", input_kind="dot")  # layout off
    report = (await browser.http.get(f"{url}/files/report.json")).json()
    assert report["input"]["kind"] == "dot"
    assert report["layout"][0]["engine"] == "grid"
    both = await browser.convert(text="digraph { a }", file=("a.dot", b"digraph { a }"))
    assert both.status_code == 422
    assert "either a file or pasted text" in both.text
    empty = await browser.convert(text="   ")
    assert empty.status_code == 422
    assert "choose a file to upload or paste DOT text" in empty.text


async def test_dot_syntax_error_is_shown_with_line_and_column(web_app: Any) -> None:
    browser = web_app()
    text = "digraph {\n a -> \n}"
    response = await browser.convert(text=text)
    assert response.status_code == 422
    assert "dot_syntax_error" in response.text
    assert "line 3, column 1" in response.text
    assert "a -&gt; " in response.text  # the pasted text comes back (escaped) for fixing


async def test_sessions_are_isolated(web_app: Any) -> None:
    alice, bob = web_app(), web_app()
    url = await converted(alice, file=("alice-secret.dot", b"digraph alice { private_db -> internal_api }"))
    assert (await alice.http.get(url)).status_code == 200
    for path in (url, f"{url}/files/model.xml", f"{url}/files/report.json", f"{url}/files/view-0.svg"):
        response = await bob.http.get(path)
        assert response.status_code == 404, path
        assert b"private_db" not in response.content
    home = await bob.http.get("/")
    assert "alice-secret" not in home.text
    # a cookie with alice's session id but not our signature is a new, empty session
    sid = alice.http.cookies["d2a_session"].split(".")[0]
    bob.http.cookies.set("d2a_session", f"{sid}.forged", domain="127.0.0.1")
    assert (await bob.http.get(url)).status_code == 404


async def test_concurrent_sessions_never_mix_outputs(web_app: Any) -> None:
    browsers = [web_app() for _ in range(4)]

    async def one(i: int) -> tuple[int, bytes]:
        url = await converted(browsers[i], text=f"digraph g{i} {{ only_{i}_a -> only_{i}_b }}", options="1")
        return i, (await browsers[i].http.get(f"{url}/files/model.xml")).content

    results = await asyncio.gather(*(one(i) for i in range(4)), *(one(i) for i in range(4)))
    by_browser: dict[int, set[bytes]] = {}
    for i, xml in results:
        for j in range(4):
            assert (f"only_{j}_a".encode() in xml) == (i == j)
        by_browser.setdefault(i, set()).add(xml)
    assert all(len(v) == 1 for v in by_browser.values())  # same input → byte-identical output
    same = [await converted(b, text="digraph same { a -> b }", options="1") for b in browsers[:2]]
    xmls = [(await b.http.get(f"{u}/files/model.xml")).content for b, u in zip(browsers[:2], same, strict=True)]
    assert xmls[0] == xmls[1]  # IDs depend on the input only, never on another session's history


async def test_csrf_token_is_required_and_per_session(web_app: Any) -> None:
    alice, bob, stranger = web_app(), web_app(), web_app()
    alice_token = await alice.csrf()
    await bob.csrf()
    missing = await bob.http.post("/convert", data={"text": "digraph { a }"})
    assert missing.status_code == 403
    assert "csrf_failed" in missing.text
    assert (await bob.convert(text="digraph { a }", token="x" * 43)).status_code == 403
    assert (await bob.convert(text="digraph { a }", token=alice_token)).status_code == 403  # not bob's
    assert (await stranger.convert(text="digraph { a }", token=alice_token)).status_code == 403  # no cookie yet
    assert (await alice.convert(text="digraph { a }", token=alice_token)).status_code == 303
    # clearing the session needs the token too
    assert (await alice.http.post("/session/clear", data={})).status_code == 403
    cleared = await alice.http.post("/session/clear", data={"csrf_token": alice_token})
    assert cleared.status_code == 303
    assert "Your conversions" not in (await alice.http.get("/")).text


XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _assert_inert_svg(svg: bytes) -> None:
    root = etree.fromstring(svg)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert etree.QName(el).localname not in {"script", "foreignObject", "image", "a", "style", "iframe"}
        for key, value in el.attrib.items():
            assert not etree.QName(key).localname.lower().startswith("on"), key
            assert "javascript:" not in value.lower()
            assert "href" not in key


async def test_xss_payloads_are_escaped_in_page_and_svgs(web_app: Any) -> None:
    browser = web_app()
    esc = XSS.replace('"', '\\"')
    dot = (
        f'digraph "{esc}" {{ a [label="{esc}", URL="javascript:alert(3)", href="javascript:alert(4)"]; '
        f'b [label=<<b>bold</b>>, tooltip="{esc}"]; a -> b [label="{esc}"] }}'
    )
    url = await converted(browser, file=('"><img src=x onerror=alert(5)>.dot', dot.encode()))
    page = (await browser.http.get(url)).text
    home = (await browser.http.get("/")).text
    for text in (page, home):
        assert "<script>alert" not in text
        assert "<img src=x" not in text
        assert "javascript:" not in text
        scripts = re.findall(r"<script[^>]*>", text)
        assert scripts == ['<script src="/static/app.js" defer>']
    assert "&lt;img src=x onerror=alert(5)&gt;.dot" in page  # the file name, as text
    for name in ("view-0.svg", "input.svg"):
        svg = (await browser.http.get(f"{url}/files/{name}")).content
        _assert_inert_svg(svg)
        texts = "".join(etree.fromstring(svg).itertext())
        assert "<script>alert(1)" in texts or "<script>alert(1" in texts  # kept as (clipped) text
    xml = (await browser.http.get(f"{url}/files/model.xml")).content
    assert b"<script>" not in xml


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE model [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<model xmlns="http://www.opengroup.org/xsd/archimate/3.0/" identifier="m"><name>&xxe;</name></model>"""


async def test_xxe_upload_is_refused(web_app: Any) -> None:
    browser = web_app()
    response = await browser.convert(file=("model.xml", XXE))
    assert response.status_code == 422
    assert "unsafe_xml" in response.text
    assert "DOCTYPE" in response.text
    assert "root:" not in response.text
    api = await browser.http.post("/api/convert", content=XXE, headers={"content-type": "application/xml"})
    assert api.status_code == 422
    assert api.json()["error"] == "unsafe_xml"


async def test_exchange_xml_upload_round_trips(web_app: Any, assert_xsd_valid: Any) -> None:
    browser = web_app()
    first = await browser.http.post("/api/convert?layout=false", content=SHOP, headers={"content-type": "text/plain"})
    xml = first.json()["files"]["model.xml"].encode()
    url = await converted(browser, file=("exported.xml", xml), options="1")
    again = (await browser.http.get(f"{url}/files/model.xml")).content
    assert_xsd_valid(again)
    names = lambda doc: sorted(n.text for n in etree.fromstring(doc).iterfind(".//{*}element/{*}name"))  # noqa: E731
    assert names(again) == names(xml)


async def test_dot_bombs_are_refused_quickly(web_app: Any) -> None:
    browser = web_app()
    left = " ".join(f"a{i}" for i in range(200))
    right = " ".join(f"b{i}" for i in range(200))
    started = time.perf_counter()
    response = await browser.convert(text=f"digraph {{ {{{left}}} -> {{{right}}} }}")  # 40 000 edges from 2 KB
    assert response.status_code == 413
    assert "graph_too_large" in response.text
    assert "edges" in response.text
    assert time.perf_counter() - started < 5
    small = web_app(MAX_NODES=50)
    api = await small.http.post("/api/convert", content=" ".join(["digraph {", *(f"n{i};" for i in range(51)), "}"]),
                                headers={"content-type": "text/plain"})  # fmt: skip
    assert api.status_code == 413
    assert api.json() == {"error": "graph_too_large", "detail": "graph too large: nodes more than 50"}


async def test_oversize_uploads_get_413(web_app: Any) -> None:
    browser = web_app()  # MAX_UPLOAD_MB=10: servicekit refuses the body before the app reads it
    big = b"digraph { " + b"a;" * (6 * 1024 * 1024) + b" }"
    response = await browser.convert(file=("big.dot", big))
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    # the app's own limit, when the request limit is set higher than the upload limit
    app_limited = web_app(MAX_UPLOAD_MB=1, MAX_REQUEST_SIZE_MB=5)
    mid = b"digraph { " + b"a;" * 800_000 + b" }"
    response = await app_limited.convert(file=("mid.dot", mid))
    assert response.status_code == 413
    assert "upload_too_large" in response.text
    api = await app_limited.http.post("/api/convert", content=mid, headers={"content-type": "text/plain"})
    assert api.status_code == 413
    assert api.json()["error"] == "upload_too_large"
    assert "1.5 MB; the limit is 1.0 MB" in api.json()["detail"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("graph.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "files of type '.png' are not accepted"),
        ("graph.dot", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "the content is a PNG image"),
        ("graph.dot", b"PK\x03\x04" + b"\0" * 64, "ZIP archive"),
        ("graph.gv", b"digraph {\0 a }", "the content is binary"),
        ("setup.exe", b"MZ\x90\x00", "files of type '.exe' are not accepted"),
        ("graph", b"digraph { a }", "files without an extension are not accepted"),
        ("graph.dot", b"<?xml version='1.0'?><model/>", "named .dot but contains XML"),
        ("model.xml", b"digraph { a }", "named .xml but contains DOT"),
        ("notes.txt", b"hello world", "neither a DOT graph"),
    ],
)
async def test_wrong_types_get_415_with_a_clear_message(web_app: Any, name: str, content: bytes, message: str) -> None:
    browser = web_app()
    response = await browser.convert(file=(name, content))
    assert response.status_code == 415
    assert "unsupported_media_type" in response.text
    assert message in html.unescape(response.text)


async def test_api_refuses_unknown_content_types(web_app: Any) -> None:
    browser = web_app()
    response = await browser.http.post("/api/convert", content=b"\x89PNG", headers={"content-type": "image/png"})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    bad_param = await browser.http.post(
        "/api/convert?format=pdf", content=b"digraph{}", headers={"content-type": "text/plain"}
    )
    assert bad_param.status_code == 422
    assert bad_param.json()["error"] == "invalid_request"


TRAVERSAL = [
    ("../../etc/passwd.dot", "passwd"),
    ("..\\..\\windows\\system.ini.dot", "system.ini"),
    ("/etc/shadow.gv", "shadow"),
    ("a/../../../b.dot", "b"),
    ('evil"\r\nX-Injected: 1.dot', "evil_22_0D_0AX-Injected_1"),  # httpx sends " CR LF as %22 %0D %0A
    ("....//....//x.dot", "x"),
    ("\u202eexe.dot", "exe"),
]


async def test_filenames_are_never_paths(web_app: Any, web_settings: Any) -> None:
    browser = web_app()
    data_dir = web_settings().DATA_DIR
    for name, stem in TRAVERSAL:
        url = await converted(browser, file=(name, b"digraph t { a -> b }"), options="1")
        download = await browser.http.get(f"{url}/files/model.xml")
        disposition = download.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="{stem}.xml";'), (name, disposition)
        assert "x-injected" not in {k.lower() for k in download.headers}
    allowed = re.compile(r"^(dev-secret-key|sessions|[A-Za-z0-9_-]{32}|[0-9a-f]{16}|session\.json|"
                         r"model\.xml|model\.archimate|model-csv\.zip|report\.json|explain\.json|"
                         r"view-\d+\.svg|input\.svg)$")  # fmt: skip
    found = [p for p in data_dir.rglob("*")]
    assert found
    assert all(allowed.match(p.name) for p in found), [p.name for p in found if not allowed.match(p.name)]
    assert not any(p.name in ("passwd", "shadow", "b.xml") for p in data_dir.parent.rglob("*"))
    # URLs that try to walk out of a result
    rid = url.rsplit("/", 1)[1]
    for path in (f"/results/{rid}/files/..%2Fsession.json", f"/results/{rid}/files/session.json",
                 f"/results/{rid}/files/view-99.svg", "/results/..%2F..%2Fetc%2Fpasswd",
                 "/results/0123456789ABCDEF"):  # fmt: skip
        response = await browser.http.get(path)
        assert response.status_code == 404, path
        assert b"root:" not in response.content


async def test_legal_pages_come_from_legal_settings_escaped(web_app: Any, tmp_path: Path) -> None:
    legal = tmp_path / "legal_settings.yaml"
    legal.write_text(
        "operator: 'Example <b>GmbH</b>'\n"
        "footer: '© 2026 Example <script>alert(1)</script>'\n"
        "contact_email: privacy@example.org\n"
        "imprint:\n  title: Impressum\n  text: |\n    Example GmbH\n    Musterstraße 1\n\n"
        "    Register <i>HRB</i> 1234\n"
        "privacy:\n  title: Datenschutz\n  text: Uploads are deleted after one hour. <a href=x>x</a>\n"
    )  # fmt: skip
    browser = web_app(LEGAL_SETTINGS_FILE=legal)
    imprint = await browser.http.get("/imprint")
    assert imprint.status_code == 200
    assert "<h1>Impressum</h1>" in imprint.text
    assert "Example GmbH<br>Musterstraße 1" in imprint.text
    assert "Register &lt;i&gt;HRB&lt;/i&gt; 1234" in imprint.text
    assert "Example &lt;b&gt;GmbH&lt;/b&gt;" in imprint.text
    privacy = await browser.http.get("/privacy")
    assert "Uploads are deleted after one hour. &lt;a href=x&gt;" in privacy.text
    home = await browser.http.get("/")
    assert "© 2026 Example &lt;script&gt;" in home.text
    assert '<a href="/imprint">Impressum</a>' in home.text


def test_malformed_legal_settings_fail_at_start_up(web_settings: Any, tmp_path: Path) -> None:
    from dot2archimate.app import create_app
    from dot2archimate.web.legal import LegalSettingsError

    bad = tmp_path / "legal.yaml"
    bad.write_text("imprint: {title: X, text: y, html: '<script>'}\n")
    with pytest.raises(LegalSettingsError, match=r"imprint\.html: Extra inputs are not permitted"):
        create_app(web_settings(LEGAL_SETTINGS_FILE=bad))
    with pytest.raises(LegalSettingsError, match="cannot be read"):
        create_app(web_settings(LEGAL_SETTINGS_FILE=tmp_path / "missing.yaml"))


async def test_health_reports_storage(web_app: Any, web_settings: Any) -> None:
    browser = web_app()
    body = (await browser.http.get("/health")).json()
    assert body["status"] == "healthy"
    assert body["storage"] == "accessible"
    assert abs(body["timestamp"] - time.time()) < 5
    ready = await browser.http.get("/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"storage", "graphviz"}
    sessions = web_settings().DATA_DIR / "sessions"
    sessions.rename(sessions.with_name("moved"))
    sessions.write_text("not a directory")  # storage broken under the running app
    body = (await browser.http.get("/health")).json()
    assert (body["status"], body["storage"]) == ("degraded", "inaccessible")
    assert (await browser.http.get("/ready")).status_code == 503
    failed = await browser.convert(text="digraph { a }")
    assert failed.status_code == 503
    assert "storage_unavailable" in failed.text


async def test_api_convert_formats_and_errors(web_app: Any, assert_xsd_valid: Any) -> None:
    browser = web_app()
    xml = await browser.http.post("/api/convert", files={"file": ("shop.dot", SHOP)})
    assert xml.status_code == 200
    doc = xml.json()
    assert doc["report"]["valid"] is True
    assert_xsd_valid(doc["files"]["shop.xml"].encode())
    assert any(e["rule"] == "database-name" for e in doc["explain"])
    csv = await browser.http.post("/api/convert?format=csv&layout=false", content=SHOP,
                                  headers={"content-type": "text/vnd.graphviz"})  # fmt: skip
    assert sorted(csv.json()["files"]) == ["elements.csv", "properties.csv", "relations.csv"]
    syntax = await browser.http.post("/api/convert", content=b"digraph {\n a -> \n}",
                                     headers={"content-type": "text/plain"})  # fmt: skip
    assert syntax.status_code == 422
    assert syntax.json() == {"error": "dot_syntax_error", "detail": "line 3, column 1: unexpected '}'"}
    assert "set-cookie" not in xml.headers  # the API is stateless


async def test_terraform_graph_upload(web_app: Any) -> None:
    browser = web_app()
    tf = (FIXTURES / "terraform" / "v1_11_default.dot").read_bytes()
    url = await converted(browser, file=("plan.dot", tf), options="1")
    page = (await browser.http.get(url)).text
    assert "input: terraform" in page


async def test_pages_docs_and_headers(web_app: Any) -> None:
    browser = web_app()
    home = await browser.http.get("/")
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert home.headers["x-frame-options"] == "DENY"
    cookie = home.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    docs = await browser.http.get("/docs")
    assert docs.status_code == 200
    assert "POST /api/convert" in docs.text
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", docs.text)  # nothing from a CDN
    spec = (await browser.http.get("/openapi.json")).json()
    assert "/api/convert" in spec["paths"]
    css = await browser.http.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    missing = await browser.http.get("/no-such-page")
    assert missing.status_code == 404
    assert "not_found" in missing.text
    metrics = (await browser.http.get("/metrics")).text
    assert "dot2archimate_requests_total" in metrics or "dot2archimate_http" in metrics


async def test_results_are_bounded_per_session(web_app: Any) -> None:
    browser = web_app(SESSION_MAX_RESULTS=2)
    urls = [await converted(browser, text=f"digraph g{i} {{ a }}", options="1") for i in range(3)]
    assert (await browser.http.get(urls[0])).status_code == 404  # evicted with its files
    assert (await browser.http.get(f"{urls[0]}/files/model.xml")).status_code == 404
    for u in urls[1:]:
        assert (await browser.http.get(u)).status_code == 200


def test_report_json_is_what_the_page_shows(tmp_path: Path) -> None:
    # guard for the template: the counts block reads these keys of the core's report
    from dot2archimate import ConvertOptions, convert

    report = convert("digraph { a -> b }", ConvertOptions(layout=None)).report.to_dict()
    assert {"elements_by_type", "relationships_by_type"} <= set(report["counts"])
    assert json.dumps(report)


async def test_big_models_are_split_into_several_view_images(web_app: Any) -> None:
    browser = web_app(MAX_VIEW_NODES=40, PREVIEW_MAX_NODES=50)
    text = "digraph big { " + " ".join(f"n{i} -> n{i + 1};" for i in range(119)) + " }"
    url = await converted(browser, text=text, options="1", layout="on")  # (grid views use the core's 150)
    page = (await browser.http.get(url)).text
    shown = re.findall(r'src="[^"]+/files/view-(\d+)\.svg"', page)
    assert len(shown) >= 3
    for n in shown:
        svg = (await browser.http.get(f"{url}/files/view-{n}.svg")).content
        assert len(etree.fromstring(svg).findall(".//{*}rect")) <= 40
    assert "no input preview: 120 nodes" in page
    assert (await browser.http.get(f"{url}/files/input.svg")).status_code == 404


async def test_conversions_are_bounded_and_excess_waits_then_gets_503(web_app: Any) -> None:
    import random

    rng = random.Random(7)
    edges = " ".join(f"n{rng.randrange(600)} -> n{rng.randrange(600)};" for _ in range(1500))
    slow = f"digraph slow {{ {edges} }}"  # dot needs far longer than LAYOUT_TIMEOUT on this
    browsers = [web_app(GUNICORN_THREADS=1, CONVERT_QUEUE_TIMEOUT=0.3, LAYOUT_TIMEOUT=1.0, MAX_VIEW_NODES=1000,
                        PREVIEW_MAX_NODES=0) for _ in range(2)]  # fmt: skip
    tokens = [await b.csrf() for b in browsers]
    started = time.perf_counter()
    first, second = await asyncio.gather(
        browsers[0].convert(text=slow, token=tokens[0]),
        _after(0.05, browsers[1], tokens[1]),  # same app: the one conversion slot is taken
    )
    assert first.status_code == 303  # the layout fell back (sfdp/grid) inside its time limit
    assert second.status_code == 503
    assert "busy" in second.text
    assert time.perf_counter() - started < 30
    report = (await browsers[0].http.get(f"{first.headers['location']}/files/report.json")).json()
    assert report["layout"][0]["engine"] in ("sfdp", "grid")


async def _after(delay: float, browser: Any, token: str) -> Any:
    await asyncio.sleep(delay)
    return await browser.convert(text="digraph quick { a -> b }", token=token)
