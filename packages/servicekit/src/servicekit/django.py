"""What Django's ASGI handler needs to sit inside the servicekit stack.

Django answers only http/websocket scopes, so `with_lifespan` adds ASGI lifespan (start-up and
shutdown hooks, e.g. opening and closing a connection pool); `django_route_template` gives the
metrics middleware the URL pattern that matched (`/api/rooms/<int:pk>/`), never the raw path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from servicekit.asgi import ASGIApp, Receive, Scope, Send

__all__ = ["django_route_template", "with_lifespan"]

Hook = Callable[[], Awaitable[None]]


def django_route_template(scope: Scope) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        match = resolve(scope["path"])
    except Resolver404:
        return None
    return "/" + str(match.route).lstrip("^").rstrip("$") if match.route else None


def with_lifespan(app: ASGIApp, *, on_startup: Sequence[Hook] = (), on_shutdown: Sequence[Hook] = ()) -> ASGIApp:
    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in on_startup:
                        await hook()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in on_shutdown:
                    await hook()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan_app
