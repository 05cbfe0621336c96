"""A stand-in service for the fleet's system test: answers /health and echoes its environment."""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fleet.registry import ServiceSpec


def registry() -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="fake",
            title="Fake <service>",
            port=int(os.environ["FAKE_PORT"]),
            serve=(sys.executable, "-m", "fleet_fake"),
            prepare=((sys.executable, "-c", "import os; print('prepared with', os.environ['PORT'])"),),
            env=lambda urls: {"REDIS_URL": urls.redis_shared, "DATABASE_URL": urls.postgres_dsn("fakedb")},
            databases=("fakedb",),
        ),
        ServiceSpec(name="absent", title="Not installed", port=1, serve=("no-such-flotilla-service", "serve")),
    ]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "pass", "path": self.path, "redis": os.environ.get("REDIS_URL"),
                           "database": os.environ.get("DATABASE_URL")}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1])
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()
