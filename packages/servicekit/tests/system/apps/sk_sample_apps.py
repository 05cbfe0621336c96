"""Two small apps, one FastAPI and one Django, wrapped in the servicekit stack exactly as services do.

System tests run them under the real servers through `sk_sample_cli` (a servicekit service CLI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from servicekit import Health, ReadinessCheck, ServiceSettings, envelope, metrics_for
from servicekit.asgi import ASGIApp
from servicekit.sse import SSE_HEADERS, sse_event, sse_stream


class SampleSettings(ServiceSettings):
    service_name = "sample"
    LIFESPAN_MARKER: Path | None = None
    SSE_INTERVAL: float = 0.1


def _health(settings: SampleSettings) -> Health:
    checks = []
    if settings.REDIS_URL:
        url = settings.REDIS_URL

        async def ping_redis() -> None:
            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            try:
                await client.ping()
            finally:
                await client.aclose()

        checks.append(ReadinessCheck("redis", ping_redis, timeout=1.0))
    return Health(service="sample", checks=checks, liveness_details=lambda: {"cache_size": 0})


def _mark(settings: SampleSettings, text: str) -> None:
    if settings.LIFESPAN_MARKER is not None:
        with settings.LIFESPAN_MARKER.open("a") as marker:
            marker.write(text + "\n")


async def _ticks(interval: float) -> AsyncIterator[bytes]:
    for number in range(100_000):
        yield sse_event({"n": number}, id=str(number))
        await asyncio.sleep(interval)


def fastapi_app() -> ASGIApp:
    settings = SampleSettings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _mark(settings, "startup")
        yield
        _mark(settings, "shutdown")

    api = FastAPI(lifespan=lifespan)

    @api.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, Any]:
        return {"item_id": item_id}

    @api.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @api.get("/events")
    async def events() -> StreamingResponse:
        return StreamingResponse(sse_stream(_ticks(settings.SSE_INTERVAL)), headers=SSE_HEADERS)

    return envelope(api, settings, health=_health(settings), metrics=metrics_for(settings))


def django_app() -> ASGIApp:
    import django
    from django.conf import settings as django_settings
    from servicekit.django import django_route_template, with_lifespan

    settings = SampleSettings()
    if not django_settings.configured:
        django_settings.configure(
            DEBUG=False,
            SECRET_KEY="x" * 50,
            ROOT_URLCONF="sk_sample_django_urls",
            # Host checks happen once, in servicekit's stack, before Django sees the request.
            ALLOWED_HOSTS=["*"],
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
        )
        django.setup()
    from django.core.asgi import get_asgi_application

    async def on_startup() -> None:
        _mark(settings, "startup")

    async def on_shutdown() -> None:
        _mark(settings, "shutdown")

    app = with_lifespan(get_asgi_application(), on_startup=[on_startup], on_shutdown=[on_shutdown])
    return envelope(
        app, settings, health=_health(settings), metrics=metrics_for(settings), resolve_route=django_route_template
    )
