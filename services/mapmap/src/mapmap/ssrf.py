"""The upstream host allow-list: no URL ever comes from a request, and URLs found in an upstream's
capabilities must point at a host the operator configured."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from mapmap.errors import UnsafeURLError

__all__ = ["check_url_allowed", "host_of"]


def host_of(url: str) -> tuple[str, int | None]:
    """(hostname, port) of an http(s) URL, lower-cased; raises UnsafeURLError for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeURLError(f"malformed URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURLError(f"only http(s) URLs with a host are allowed, got scheme {parts.scheme!r}")
    if parts.username or parts.password:
        raise UnsafeURLError("URLs with credentials in them are not allowed")
    return parts.hostname.lower(), port


def _entry(entry: str) -> tuple[str, int | None]:
    parts = urlsplit("//" + entry.strip())
    return (parts.hostname or "").lower(), parts.port


def check_url_allowed(url: str, allowed_hosts: Iterable[str]) -> str:
    """Return `url` if its host is in `allowed_hosts` (`host` admits every port, `host:port` one).

    The message names the host but never the URL, whose query may carry a token.
    """
    host, port = host_of(url)
    for entry in allowed_hosts:
        allowed_host, allowed_port = _entry(entry)
        if allowed_host == host and allowed_port in (None, port):
            return url
    raise UnsafeURLError(f"host {host!r} is not in this upstream's allow-list")
