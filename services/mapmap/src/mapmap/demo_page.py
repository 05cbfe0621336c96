"""The demo page at /demo/: every endpoint on a Leaflet map (vendored, no CDN), the reprojected
layer over the passthrough one. Static files live in the package under `static/`."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from servicekit.middleware.security_headers import PRESETS

__all__ = ["add_demo_page"]

_STATIC = files("mapmap") / "static"
# The page is HTML among API routes: it carries the html preset's CSP itself (servicekit keeps it).
_PAGE_HEADERS = {
    "content-security-policy": PRESETS["html"]["content-security-policy"],
    "cache-control": "no-cache",
}


def add_demo_page(api: FastAPI) -> None:
    page = (_STATIC / "demo.html").read_text(encoding="utf-8")
    api.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")

    @api.get("/demo", include_in_schema=False)
    async def demo_redirect() -> RedirectResponse:
        return RedirectResponse("/demo/")

    @api.get("/demo/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)
