"""App variants the benchmark serves besides `mapmap.app:asgi`.

`bare` is MapMap's FastAPI app without servicekit's middleware stack (no host checks, security
headers, request ids, metrics middleware): the difference to the full app is the envelope's cost,
the rest is MapMap's own.

    python services/mapmap/benchmarks/variants.py bare --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapi import FastAPI
from mapmap.app import create_app
from mapmap.config import Settings
from servicekit.asgi import ASGIApp

__all__ = ["bare"]


def bare() -> ASGIApp:
    app = create_app(Settings())
    while not isinstance(app, FastAPI):
        app = app.app  # type: ignore[attr-defined]  # every servicekit layer keeps the next one as .app
    return app


def main() -> None:
    from servicekit.serving import serve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=["bare"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # gunicorn workers import `variants:bare`
    serve(f"variants:{args.variant}", Settings(), production=True, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
