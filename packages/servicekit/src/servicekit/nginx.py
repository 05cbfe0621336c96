"""nginx configuration for a service behind a reverse proxy, generated rather than hand-copied.

`proxy_location` is the one definition of how Flotilla proxies to an app: forwarded headers that
servicekit trusts (TRUSTED_PROXIES), request id pass-through, WebSocket upgrade, and response
buffering left on (apps that stream send `X-Accel-Buffering: no`, see `servicekit.sse`).
"""

from __future__ import annotations

from servicekit.local.servers import nginx_main_block

__all__ = ["proxy_location", "render_reverse_proxy"]


def proxy_location(path: str, upstream: str, *, strip_prefix: bool = False, read_timeout_s: int = 3600) -> str:
    """A `location` block proxying `path` to `upstream` (e.g. `http://127.0.0.1:8000`)."""
    target = f"{upstream.rstrip('/')}/" if strip_prefix else upstream.rstrip("/")
    prefix_header = f"        proxy_set_header X-Forwarded-Prefix {path.rstrip('/')};\n" if strip_prefix else ""
    return (
        f"    location {path} {{\n"
        f"        proxy_pass {target};\n"
        "        proxy_http_version 1.1;\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Real-IP $remote_addr;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_set_header X-Forwarded-Proto $scheme;\n"
        "        proxy_set_header X-Request-ID $request_id_out;\n"
        f"{prefix_header}"
        "        proxy_set_header Upgrade $http_upgrade;\n"
        "        proxy_set_header Connection $connection_upgrade;\n"
        f"        proxy_read_timeout {read_timeout_s}s;\n"
        "        proxy_send_timeout 60s;\n"
        "    }\n"
    )


HTTP_PREAMBLE = """    default_type application/octet-stream;
    access_log logs/access.log;
    server_tokens off;
    sendfile on;
    client_body_temp_path tmp/client;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
    # Keep a caller's X-Request-ID, otherwise use nginx's own, so one id follows the request.
    map $http_x_request_id $request_id_out { default $http_x_request_id; '' $request_id; }
"""


def render_reverse_proxy(*, listen_port: int, upstream: str, max_body_mb: int = 10, server_name: str = "_") -> str:
    """A complete nginx.conf (runnable from a prefix directory) proxying everything to `upstream`."""
    return (
        nginx_main_block()
        + "http {\n"
        + HTTP_PREAMBLE
        + "    server {\n"
        + f"        listen 127.0.0.1:{listen_port};\n"
        + f"        server_name {server_name};\n"
        + f"        client_max_body_size {max_body_mb}m;\n"
        + proxy_location("/", upstream).replace("\n    ", "\n        ").replace("    location", "        location", 1)
        + "    }\n"
        + "}\n"
    )
