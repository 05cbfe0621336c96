"""The web layer's pure parts: upload checks, names, signed session ids, SVG, settings, error table."""

from __future__ import annotations

from pathlib import Path

import pytest
from dot2archimate import ConvertOptions, convert
from dot2archimate.config import Settings, web_checks
from dot2archimate.errors import DotSyntaxError, GraphTooLargeError, SchemaValidationError, UnsafeXmlError
from dot2archimate.web.errors import CsrfError, UploadTooLargeError, error_status
from dot2archimate.web.sessions import SessionSigner, new_session_id
from dot2archimate.web.svg import sanitize_svg, view_svg
from dot2archimate.web.uploads import (
    EmptyInputError,
    UnsupportedMediaTypeError,
    classify_upload,
    display_name,
    download_stem,
)
from lxml import etree


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"digraph { a }", "a.dot", "dot"),
        (b"\xef\xbb\xbf// comment\n/* block */ # hash\n  STRICT Digraph x { }", "a.gv", "dot"),
        (b"graph { a -- b }", None, "dot"),
        (b'digraph {\n  compound = "true"\n}', "plan.txt", "dot"),
        (b"<?xml version='1.0'?><model/>", "m.xml", "xml"),
        (b"  <model/>", None, "xml"),
    ],
)
def test_accepted_inputs(data: bytes, name: str | None, kind: str) -> None:
    assert classify_upload(data, name, 1000).kind == kind


def test_refused_inputs() -> None:
    with pytest.raises(UploadTooLargeError, match=r"limit is 0\.0 MB"):
        classify_upload(b"digraph { a }", "a.dot", 5)
    with pytest.raises(EmptyInputError):
        classify_upload(b" \n ", "a.dot", 100)
    with pytest.raises(UnsupportedMediaTypeError, match="gzip"):
        classify_upload(b"\x1f\x8b\x08\x00", "a.dot", 100)
    with pytest.raises(UnsupportedMediaTypeError, match="neither a DOT graph"):
        classify_upload(b"graphs are nice", None, 100)  # `graph` must be a whole word
    with pytest.raises(UnsupportedMediaTypeError, match=r"'\.svg'"):
        classify_upload(b"<svg/>", "x.svg", 100)


@pytest.mark.parametrize(
    ("raw", "shown", "stem"),
    [
        ("../../etc/passwd.dot", "passwd.dot", "passwd"),
        ("C:\\Users\\me\\graph.gv", "graph.gv", "graph"),
        (".htaccess.dot", ".htaccess.dot", "htaccess"),
        ("na\x00me\r\n.dot", "name.dot", "name"),
        ("Ünïcödé graph.dot", "Ünïcödé graph.dot", "Unicode_graph"),
        ("..", "..", "model"),
        ("/", "upload", "upload"),
        ("a" * 300 + ".dot", "a" * 120, "a" * 60),
    ],
)
def test_client_names_become_display_text_and_safe_stems(raw: str, shown: str, stem: str) -> None:
    assert display_name(raw) == shown
    assert download_stem(raw) == stem


def test_signed_session_ids() -> None:
    signer = SessionSigner(b"k" * 32)
    other = SessionSigner(b"j" * 32)
    sid = new_session_id()
    cookie = signer.sign(sid)
    assert signer.unsign(cookie) == sid
    assert other.unsign(cookie) is None  # another SECRET_KEY
    assert signer.unsign(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    assert signer.unsign(None) is None
    assert signer.unsign("../../etc/passwd.sig") is None
    assert signer.unsign(sid) is None  # unsigned
    token = signer.csrf_token(sid)
    assert signer.csrf_ok(sid, token)
    assert not signer.csrf_ok(new_session_id(), token)
    assert not signer.csrf_ok(sid, None)
    assert token != cookie.split(".")[1]  # the CSRF token is not the cookie's signature
    with pytest.raises(ValueError, match="16 bytes"):
        SessionSigner(b"short")


HOSTILE_SVG = b"""<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" onload="alert(1)">
  <script>alert(2)</script>
  <style>* { background: url(http://evil/) }</style>
  <g id="node1" class="node" onclick="alert(3)">
    <a xlink:href="javascript:alert(4)" href="javascript:alert(5)"><text x="1" y="2">&lt;b&gt;kept&lt;/b&gt;</text></a>
    <image xlink:href="file:///etc/passwd"/>
    <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
    <polygon fill="url(http://evil/x)" stroke="black" points="0,0 1,1"/>
    <path marker-end="url(#arrow)" d="M0,0"/>
  </g>
</svg>"""


def test_sanitize_svg_keeps_drawing_and_drops_active_content() -> None:
    clean = sanitize_svg(HOSTILE_SVG)
    root = etree.fromstring(clean)
    tags = {etree.QName(el).localname for el in root.iter() if isinstance(el.tag, str)}
    assert tags == {"svg", "g", "text", "polygon", "path"}
    attrs = {k: v for el in root.iter() for k, v in el.attrib.items()}
    assert not any(k.startswith("on") or "href" in k for k in attrs)
    assert "url(http" not in clean.decode()
    assert root.find(".//{*}path").get("marker-end") == "url(#arrow)"
    assert root.find(".//{*}polygon").get("fill") is None
    assert root.find(".//{*}text").text == "<b>kept</b>"
    assert b"<!DOCTYPE" not in clean
    with pytest.raises(ValueError, match="not an SVG"):
        sanitize_svg(b"<html/>")


def test_view_svg_draws_every_node_with_text_escaped() -> None:
    result = convert('digraph { a [label="<script>x</script>"]; b; c_db; a -> b -> c_db }', ConvertOptions(layout=None))
    model = result.model
    svg = view_svg(model, model.views[0])
    root = etree.fromstring(svg)
    rects = root.findall(".//{*}rect")
    assert len(rects) == len(model.views[0].walk())
    assert len(root.findall(".//{*}polyline")) == len(model.views[0].connections)
    assert b"<script>" not in svg
    assert "<script>x</script>" in "".join(root.itertext())
    assert sanitize_svg(svg).count(b"<rect") == len(rects)  # nothing of ours is stripped


def test_settings_names_from_the_deployment_guide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GUNICORN_WORKERS", "4")
    monkeypatch.setenv("GUNICORN_THREADS", "3")
    monkeypatch.setenv("MAX_UPLOAD_MB", "2")
    s = Settings()
    assert (s.PORT, s.WORKERS, s.GUNICORN_THREADS, s.SECURITY_HEADERS_PRESET) == (5000, 4, 3, "html")
    assert s.max_upload_bytes == 2 * 1024 * 1024
    assert s.MAX_REQUEST_SIZE_MB == 3.0  # upload + multipart slack, fed to servicekit's body limit
    monkeypatch.setenv("MAX_REQUEST_SIZE_MB", "7")
    monkeypatch.setenv("WORKERS", "6")
    s = Settings()
    assert (s.MAX_REQUEST_SIZE_MB, s.WORKERS) == (7.0, 6)
    assert str(s.DATA_DIR) == ".data/dot2archimate"
    assert s.cookie_secure is False
    assert Settings(PRODUCTION_MODE=True).cookie_secure is True
    with pytest.raises(ValueError, match="LAYOUT_ENGINE"):
        Settings(LAYOUT_ENGINE="/bin/sh")


def test_web_deploy_checks(tmp_path: Path) -> None:
    ids = lambda s: {m.id for m in web_checks(s)}  # noqa: E731
    assert ids(Settings(SESSION_BACKEND="redis")) >= {"D2A.E001", "D2A.W002"}
    assert "D2A.E001" not in ids(Settings(SESSION_BACKEND="redis", REDIS_URL="redis://r:6379/0"))
    assert "D2A.E002" in ids(Settings(LEGAL_SETTINGS_FILE=tmp_path / "missing.yaml"))
    assert "D2A.E003" in ids(Settings(RULES_FILE=tmp_path / "missing.yaml"))
    (tmp_path / "legal.yaml").write_text("footer: x\n")
    assert ids(Settings(LEGAL_SETTINGS_FILE=tmp_path / "legal.yaml")) == set()


def test_error_table() -> None:
    assert error_status(GraphTooLargeError("edges", 10, 11)) == (413, "graph_too_large")
    assert error_status(UploadTooLargeError("x")) == (413, "upload_too_large")
    assert error_status(DotSyntaxError("bad", 1, 2)) == (422, "dot_syntax_error")
    assert error_status(UnsafeXmlError("x")) == (422, "unsafe_xml")
    assert error_status(CsrfError("x")) == (403, "csrf_failed")
    assert error_status(SchemaValidationError(["e"])) == (500, "invalid_output")


def test_schemas_built_while_other_threads_parse_xml_all_resolve_xml_xsd() -> None:
    # regression: concurrent first conversions (GUNICORN_THREADS > 1) failed with "xml:lang does not resolve"
    import threading

    from dot2archimate import validate
    from dot2archimate.xmlsafe import parse_untrusted_xml

    errors: list[str] = []
    stop = threading.Event()
    sample = convert("digraph { a -> b }", ConvertOptions(layout=None)).output

    def build() -> None:
        try:
            validate._schema()
        except Exception as exc:  # the test reports every failure below
            errors.append(repr(exc))

    def parse() -> None:
        while not stop.is_set():
            parse_untrusted_xml(sample)

    parsers = [threading.Thread(target=parse) for _ in range(2)]
    for t in parsers:
        t.start()
    try:
        for _ in range(15):
            validate._local = threading.local()
            threads = [threading.Thread(target=build) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        stop.set()
        for t in parsers:
            t.join()
    assert errors == []
