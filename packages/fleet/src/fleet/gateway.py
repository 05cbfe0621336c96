"""The nginx gateway: a landing page listing every service with live health, and `/<name>/`
proxied to each service (prefix stripped) with servicekit's one definition of the proxy headers."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from servicekit.local import nginx_main_block
from servicekit.nginx import HTTP_PREAMBLE, proxy_location

from fleet.registry import ServiceSpec

__all__ = ["render_gateway_config", "write_landing_page"]


def render_gateway_config(*, port: int, services: Sequence[ServiceSpec], site_root: Path) -> str:
    locations = "".join(
        proxy_location(f"/{spec.name}/", f"http://127.0.0.1:{spec.port}", strip_prefix=True) for spec in services
    )
    return (
        nginx_main_block()
        + "http {\n"
        + HTTP_PREAMBLE
        + "    include /etc/nginx/mime.types;\n"
        + "    server {\n"
        + f"        listen {port};\n"
        + "        server_name _;\n"
        + "        client_max_body_size 10m;\n"
        # Streams through the gateway must not wait for a full buffer.
        + "        proxy_buffering off;\n"
        + f"        location = / {{ root {site_root}; try_files /index.html =404; add_header Cache-Control no-store; }}\n"  # noqa: E501
        + f"        location /_fleet/ {{ alias {site_root}/; }}\n"
        + locations.replace("\n    ", "\n        ").replace("    location", "        location")
        + "    }\n"
        + "}\n"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flotilla</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/_fleet/fleet.css"></head>
<body><header><h1>Flotilla</h1><p>Every service of the fleet, its live health, docs and main page.</p></header>
<table><thead><tr><th>service</th><th>health</th><th>main page</th><th>docs</th><th>port</th></tr></thead>
<tbody>
__ROWS__
</tbody></table>
<script src="/_fleet/fleet.js"></script></body></html>
"""

_CSS = """body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd}
.health{font-weight:600}.up{color:#1a7f37}.down{color:#cf222e}.absent{color:#888}"""

_JS = """// Poll each service's health through the gateway (same origin, so no CORS).
const rows = document.querySelectorAll('tr[data-service]');
async function poll() {
  for (const row of rows) {
    const cell = row.querySelector('.health');
    if (row.dataset.installed !== 'true') {
      cell.textContent = 'not installed'; cell.className = 'health absent'; continue;
    }
    try {
      const response = await fetch(`/${row.dataset.service}${row.dataset.health}`, {cache: 'no-store'});
      cell.textContent = response.ok ? 'up' : `down (${response.status})`;
      cell.className = 'health ' + (response.ok ? 'up' : 'down');
    } catch (error) { cell.textContent = 'down'; cell.className = 'health down'; }
  }
}
poll(); setInterval(poll, 3000);
"""


def _row(spec: ServiceSpec, installed: bool) -> str:
    # Links point at each service's own port on the host the page was opened with (set by fleet.js).
    docs = (
        f'<a data-port="{spec.port}" data-path="{html.escape(spec.docs_path)}" href="#">docs</a>'
        if spec.docs_path
        else ""
    )
    return (
        f'<tr data-service="{html.escape(spec.name)}" data-health="{html.escape(spec.health_path)}" '
        f'data-installed="{json.dumps(installed)}"><td>{html.escape(spec.title)}</td>'
        f'<td class="health">…</td>'
        f'<td><a data-port="{spec.port}" data-path="{html.escape(spec.main_path)}" href="#">open</a></td>'
        f"<td>{docs}</td><td>{spec.port}</td></tr>"
    )


def write_landing_page(site_root: Path, services: Sequence[ServiceSpec], installed: set[str]) -> None:
    site_root.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(_row(spec, spec.name in installed) for spec in services)
    (site_root / "index.html").write_text(_PAGE.replace("__ROWS__", rows))
    (site_root / "fleet.css").write_text(_CSS)
    link_fixup = (
        "for (const a of document.querySelectorAll('a[data-port]')) "
        "a.href = `${location.protocol}//${location.hostname}:${a.dataset.port}${a.dataset.path}`;\n"
    )
    (site_root / "fleet.js").write_text(link_fixup + _JS)
