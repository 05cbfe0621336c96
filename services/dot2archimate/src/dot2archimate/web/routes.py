"""Pages (server-rendered, same-origin CSS/JS only) and the JSON API."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from servicekit import ServiceMetrics
from starlette.datastructures import UploadFile

from ..config import Settings
from ..errors import Dot2ArchimateError
from .api_schema import CONVERT_REQUEST_BODY, ERROR_RESPONSES, ConvertResponse
from .errors import CsrfError, EmptyInputError, NotFoundError, UploadTooLargeError, error_status
from .legal import LegalSettings
from .service import ConversionRequest, Converter, InputKind
from .sessions import GuardedStore, SessionData, SessionSigner, new_result_id, new_session_id
from .uploads import classify_upload

__all__ = ["WebContext", "api_router", "page_router", "templates"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescape is on for .html
_RID = re.compile(r"^[0-9a-f]{16}$")
_VIEW = re.compile(r"^view-(\d{1,2})\.svg$")
_KEEP_TEXT = 200_000  # pasted text shown again after an error, up to this many characters

#: storage name -> (media type, download suffix); nothing else is ever served from a session
DOWNLOADS: dict[str, tuple[str, str]] = {
    "model.xml": ("application/xml", ".xml"),
    "model.archimate": ("application/xml", ".archimate"),
    "model-csv.zip": ("application/zip", "-csv.zip"),
    "report.json": ("application/json", "-report.json"),
    "explain.json": ("application/json", "-explain.json"),
}
_SVG_CSP = "default-src 'none'; frame-ancestors 'self'"


@dataclass
class WebContext:
    settings: Settings
    store: GuardedStore
    signer: SessionSigner
    converter: Converter
    legal: LegalSettings
    metrics: WebMetrics | None


@dataclass
class WebMetrics:
    conversions: Any
    seconds: Any

    @classmethod
    def register(cls, metrics: ServiceMetrics) -> WebMetrics:
        ns = metrics.namespace
        return cls(
            conversions=metrics.counter(f"{ns}_conversions_total", "Conversions by outcome.", ("via", "outcome")),
            seconds=metrics.histogram(f"{ns}_conversion_duration_seconds", "Conversion time.", ("via",)),
        )

    def observe(self, via: str, outcome: str, started: float) -> None:
        self.conversions.labels(via=via, outcome=outcome).inc()
        if outcome == "ok":
            self.seconds.labels(via=via).observe(time.perf_counter() - started)


def ctx(request: Request) -> WebContext:
    return request.app.state.web  # type: ignore[no-any-return]


@dataclass
class Browser:
    """This request's session: the id from a valid cookie, or a fresh one (stored only on first save)."""

    sid: str
    new: bool

    @classmethod
    def of(cls, request: Request) -> Browser:
        c = ctx(request)
        sid = c.signer.unsign(request.cookies.get(c.settings.SESSION_COOKIE_NAME))
        return cls(sid, False) if sid else cls(new_session_id(), True)

    def attach(self, request: Request, response: Response) -> Response:
        if self.new:
            c = ctx(request)
            response.set_cookie(
                c.settings.SESSION_COOKIE_NAME, c.signer.sign(self.sid), httponly=True, samesite="lax",
                secure=c.settings.cookie_secure, path="/",
            )  # fmt: skip
        response.headers["cache-control"] = "no-store"
        return response


def _page(request: Request, browser: Browser, name: str, status: int = 200, **context: Any) -> Response:
    c = ctx(request)
    base = {
        "legal": c.legal,
        "csrf_token": c.signer.csrf_token(browser.sid),
        "max_upload_mb": c.settings.MAX_UPLOAD_MB,
        "limits": c.settings.limits(),
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    return browser.attach(request, response)


async def _history(request: Request, browser: Browser) -> tuple[SessionData | None, str | None]:
    if browser.new:
        return None, None
    try:
        return await ctx(request).store.load(browser.sid), None
    except Dot2ArchimateError as exc:
        return None, str(exc)


# ---------------------------------------------------------------- pages

page_router = APIRouter(include_in_schema=False)


@page_router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    browser = Browser.of(request)
    data, notice = await _history(request, browser)
    return _page(request, browser, "index.html", results=data.results if data else [], notice=notice)


def error_page(request: Request, exc: Dot2ArchimateError, **context: Any) -> Response:
    status, code = error_status(exc)
    browser = Browser.of(request)
    template = "index.html" if context.get("form") else "error.html"
    return _page(request, browser, template, status=status, error={"code": code, "detail": str(exc)},
                 results=context.pop("results", []), **context)  # fmt: skip


async def _read_input(request: Request, max_bytes: int) -> tuple[bytes, str | None, dict[str, str]]:
    """(content, client file name or None for pasted text, other form fields)."""
    form = await request.form(max_files=2, max_fields=10, max_part_size=max_bytes + 1024 * 1024)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    text = fields.get("text", "")
    has_file = isinstance(upload, UploadFile) and bool(upload.filename)
    if has_file and text.strip():
        raise EmptyInputError("choose either a file or pasted text, not both")
    if has_file:
        assert isinstance(upload, UploadFile)
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UploadTooLargeError(f"the file is larger than the {max_bytes / 1048576:g} MB limit")
        return data, upload.filename, fields
    if text.strip():
        return text.encode("utf-8"), None, fields
    raise EmptyInputError("choose a file to upload or paste DOT text")


def _options(fields: dict[str, str]) -> tuple[InputKind, bool]:
    kind = fields.get("input_kind", "auto")
    if kind not in ("auto", "dot", "terraform"):
        kind = "auto"
    # an unchecked box sends nothing: only a form that sent its options can turn layout off
    layout = fields.get("layout") == "on" if "options" in fields else True
    return kind, layout  # type: ignore[return-value]


@page_router.post("/convert")
async def convert_page(request: Request) -> Response:
    c = ctx(request)
    browser = Browser.of(request)
    started = time.perf_counter()
    fields: dict[str, str] = {}
    try:
        data, filename, fields = await _read_input(request, c.settings.max_upload_bytes)
        if browser.new or not c.signer.csrf_ok(browser.sid, fields.get("csrf_token")):
            raise CsrfError("the form has expired or did not come from this site; reload the page and try again")
        upload = classify_upload(data, filename, c.settings.max_upload_bytes)
        kind, layout = _options(fields)
        outcome = await c.converter.run(ConversionRequest(upload, kind, layout))
        rid = new_result_id()
        await c.store.put_files(browser.sid, rid, outcome.files)
        session = await c.store.load(browser.sid) or SessionData(browser.sid)
        session.results.insert(0, {"id": rid, "created": time.time(), **outcome.summary})
        for old in session.results[c.settings.SESSION_MAX_RESULTS :]:
            await c.store.drop_result(browser.sid, old["id"])
        del session.results[c.settings.SESSION_MAX_RESULTS :]
        await c.store.save(session)
    except Dot2ArchimateError as exc:
        if c.metrics:
            c.metrics.observe("web", error_status(exc)[1], started)
        if isinstance(exc, CsrfError):
            return error_page(request, exc)
        data_, notice = await _history(request, browser)
        text = fields.get("text", "")
        return error_page(request, exc, form=True, text=text if len(text) <= _KEEP_TEXT else "",
                          results=data_.results if data_ else [], notice=notice)  # fmt: skip
    if c.metrics:
        c.metrics.observe("web", "ok", started)
    return browser.attach(request, RedirectResponse(f"/results/{rid}", status_code=303))


async def _result(request: Request, browser: Browser, rid: str) -> dict[str, Any]:
    if browser.new or not _RID.fullmatch(rid):
        raise NotFoundError("no such result in this browser session (results expire, and are never shared)")
    session = await ctx(request).store.load(browser.sid)
    found = session.result(rid) if session else None
    if found is None:
        raise NotFoundError("no such result in this browser session (results expire, and are never shared)")
    return found


@page_router.get("/results/{rid}", response_class=HTMLResponse)
async def result_page(request: Request, rid: str) -> Response:
    browser = Browser.of(request)
    try:
        summary = await _result(request, browser, rid)
        raw = await ctx(request).store.get_file(browser.sid, rid, "report.json")
    except Dot2ArchimateError as exc:
        return error_page(request, exc)
    report = json.loads(raw) if raw else {}
    issues = report.get("issues", [])
    return _page(request, browser, "result.html", r=summary, report=report, issues=issues[:200],
                 more_issues=max(0, len(issues) - 200), downloads=DOWNLOADS)  # fmt: skip


@page_router.get("/results/{rid}/files/{name}")
async def result_file(request: Request, rid: str, name: str) -> Response:
    browser = Browser.of(request)
    try:
        summary = await _result(request, browser, rid)
        view = _VIEW.fullmatch(name)
        svg = name == "input.svg" or (view is not None and int(view[1]) < summary.get("view_images", 0))
        if name not in DOWNLOADS and not svg:
            raise NotFoundError("no such file")
        content = await ctx(request).store.get_file(browser.sid, rid, name)
        if content is None:
            raise NotFoundError("this file has expired")
    except Dot2ArchimateError as exc:
        return error_page(request, exc)
    if svg:
        headers = {"content-security-policy": _SVG_CSP, "cache-control": "private, no-store"}
        return Response(content, media_type="image/svg+xml", headers=headers)
    media, suffix = DOWNLOADS[name]
    filename = f"{summary.get('stem') or 'model'}{suffix}"  # stem is [A-Za-z0-9._-] only
    headers = {
        "content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
        "cache-control": "private, no-store",
    }
    return Response(content, media_type=media, headers=headers)


@page_router.post("/session/clear")
async def clear_session(request: Request) -> Response:
    c = ctx(request)
    browser = Browser.of(request)
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    token = form.get("csrf_token")
    if browser.new or not c.signer.csrf_ok(browser.sid, token if isinstance(token, str) else None):
        return error_page(request, CsrfError("the form has expired or did not come from this site"))
    try:
        await c.store.delete(browser.sid)
    except Dot2ArchimateError as exc:
        return error_page(request, exc)
    return browser.attach(request, RedirectResponse("/", status_code=303))


@page_router.get("/imprint", response_class=HTMLResponse)
async def imprint(request: Request) -> Response:
    return _page(request, Browser.of(request), "legal.html", page=ctx(request).legal.imprint)


@page_router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request) -> Response:
    return _page(request, Browser.of(request), "legal.html", page=ctx(request).legal.privacy)


@page_router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> Response:
    spec = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
         "description": op.get("description", ""),
         "parameters": [(p["name"], p.get("in", ""), p.get("description", "")) for p in op.get("parameters", [])]}
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
    ]  # fmt: skip
    return _page(request, Browser.of(request), "docs.html", operations=operations, spec=spec)


# ---------------------------------------------------------------- JSON API

api_router = APIRouter(prefix="/api", tags=["api"])

_RAW_TYPES = ("text/vnd.graphviz", "text/plain", "application/xml", "text/xml", "application/octet-stream")


@api_router.post(
    "/convert",
    summary="Convert a DOT / terraform graph or ArchiMate exchange XML",
    description=(
        "Body: `multipart/form-data` with `file` (a .dot/.gv/.txt/.xml file) or `text`, or the raw text with "
        "`Content-Type: text/vnd.graphviz`, `text/plain` or `application/xml`. Returns the validation report, "
        "the explanation of every mapping decision and the output files as text. Stateless: nothing is stored."
    ),
    response_model=ConvertResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=CONVERT_REQUEST_BODY,
)
async def api_convert(
    request: Request,
    format: Literal["xml", "archimate", "csv"] = Query("xml", description="output format"),
    input_kind: Literal["auto", "dot", "terraform"] = Query("auto", alias="input", description="input kind"),
    layout: bool = Query(True, description="lay views out with Graphviz (else a grid)"),
) -> JSONResponse:
    c = ctx(request)
    started = time.perf_counter()
    try:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            data, filename, _ = await _read_input(request, c.settings.max_upload_bytes)
        elif content_type in _RAW_TYPES:
            data, filename = await request.body(), None
        else:
            from .errors import UnsupportedMediaTypeError

            raise UnsupportedMediaTypeError(
                f"Content-Type {content_type or '(none)'!r} is not accepted; send multipart/form-data, "
                "text/vnd.graphviz, text/plain or application/xml"
            )
        upload = classify_upload(data, filename, c.settings.max_upload_bytes)
        outcome = await c.converter.run(ConversionRequest(upload, input_kind, layout, drawings=False))
    except Dot2ArchimateError as exc:
        if c.metrics:
            c.metrics.observe("api", error_status(exc)[1], started)
        raise
    if c.metrics:
        c.metrics.observe("api", "ok", started)
    res = outcome.result
    if format == "xml":
        files = {f"{upload.stem}.xml": outcome.files["model.xml"]}
    elif format == "archimate":
        files = {f"{upload.stem}.archimate": outcome.files["model.archimate"]}
    else:
        from ..writers import archi_csv

        files = archi_csv(res.model)
    return JSONResponse(
        {
            "report": res.report.to_dict(),
            "explain": [e.to_dict() for e in res.explain],
            "files": {name: content.decode("utf-8") for name, content in files.items()},
        }
    )
