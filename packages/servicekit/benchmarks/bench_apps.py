"""The benchmark's trivial app, bare and inside the full servicekit stack (every layer on)."""

from __future__ import annotations

from servicekit import Health, ServiceSettings, envelope, metrics_for
from servicekit.asgi import ASGIApp, Receive, Scope, Send, send_json


async def trivial(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send_json(send, 200, {"hello": "world"})


def bare() -> ASGIApp:
    return trivial


def _fastapi_trivial() -> ASGIApp:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return api


def fastapi_bare() -> ASGIApp:
    return _fastapi_trivial()


def fastapi_full_stack() -> ASGIApp:
    return _wrap(_fastapi_trivial())


def full_stack() -> ASGIApp:
    return _wrap(trivial)


def _wrap(app: ASGIApp) -> ASGIApp:
    settings = bench_settings()
    return envelope(app, settings, health=Health("bench"), metrics=metrics_for(settings, "bench"))


def bench_settings() -> ServiceSettings:
    """Every layer on: hosts, CORS, rate limits (never reached), JSON access log at INFO."""
    return ServiceSettings(
        SECRET_KEY="4f9c2b7e1a8d3f6c0b5e9a2d7c4f1e8b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f",  # noqa: S106 - benchmark only
        ALLOWED_HOSTS=["127.0.0.1"],
        ALLOWED_ORIGINS=["https://app.example.org"],
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_REQUESTS=10**9,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
