"""The benchmarks' upstream: a WMTS server that answers from pre-rendered tiles, so it is never the
bottleneck and costs MapMap and MapProxy the same.

A bare asyncio protocol on uvloop (HTTP/1.1 keep-alive, GET only): no framework, no rendering per
request. Two layers: `demo` answers at once, `slow` after `--slow-delay` seconds. Tiles are real
demo renderings with noise added so their PNGs weigh what real 256 px tiles weigh (10-30 KB).
`GET /_control` returns the tile request counts per layer; `GET /_control?reset=1` zeroes them.

    python services/mapmap/benchmarks/tile_upstream.py --port 8091
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re

import numpy as np
from mapmap.demo_upstream import GRIDS, render_tile
from mapmap.wmts_xml import LayerSpec, build_capabilities
from PIL import Image

__all__ = ["LAYERS", "TileUpstream", "tile_pool"]

LAYERS = ("demo", "slow")
_TILE_PATH = re.compile(rb"^/wmts/rest/(\w+)/[^/]+/WebMercatorQuad/(\d+)/(\d+)/(\d+)\.png$")


def tile_pool(count: int = 16, seed: int = 7) -> list[bytes]:
    """`count` PNG tiles of 10-30 KB: demo renderings around Riga with a varying share of noisy pixels."""
    rng = np.random.default_rng(seed)
    tms = GRIDS["WebMercatorQuad"]
    tiles = []
    for i in range(count):
        image = render_tile(tms, 12, 2300 + i % 4, 1200 + i // 4).astype(np.int16)
        noisy = rng.random(image.shape[:2]) < 0.02 + 0.07 * i / max(count - 1, 1)
        image[noisy] += rng.integers(-6, 7, size=(int(noisy.sum()), 3), dtype=np.int16)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB").save(buffer, format="PNG")
        tiles.append(buffer.getvalue())
    return tiles


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class TileUpstream:
    def __init__(self, port: int, *, slow_delay: float = 0.2, tiles: list[bytes] | None = None) -> None:
        self.port = port
        self.slow_delay = slow_delay
        pool = tiles or tile_pool()
        self.tiles = [_response("200 OK", tile, "image/png") for tile in pool]
        self.counts = dict.fromkeys(LAYERS, 0)
        base = f"http://127.0.0.1:{port}"
        rest = f"{base}/wmts/rest/{{layer}}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png"
        capabilities = build_capabilities(
            title="MapMap benchmark upstream",
            layers=[
                LayerSpec(name, name, ["WebMercatorQuad"], rest_template=rest.replace("{layer}", name))
                for name in LAYERS
            ],
            tile_matrix_sets=[GRIDS["WebMercatorQuad"]],
            kvp_url=f"{base}/wmts?",
            rest_url=f"{base}/wmts/1.0.0/WMTSCapabilities.xml",
        )
        self.capabilities = _response("200 OK", capabilities, "application/xml")
        self.not_found = _response("404 Not Found", b"not found", "text/plain")

    def answer(self, target: bytes) -> tuple[bytes, float]:
        """(response bytes, delay in seconds) for a request target."""
        match = _TILE_PATH.match(target)
        if match is not None and match[1].decode() in self.counts:
            layer = match[1].decode()
            self.counts[layer] += 1
            z, row, col = int(match[2]), int(match[3]), int(match[4])
            tile = self.tiles[(col * 31 + row * 17 + z) % len(self.tiles)]
            return tile, self.slow_delay if layer == "slow" else 0.0
        if target.startswith(b"/_control"):
            if b"reset=1" in target:
                self.counts = dict.fromkeys(LAYERS, 0)
            body = json.dumps({"tile_requests": sum(self.counts.values()), "by_layer": self.counts}).encode()
            return _response("200 OK", body, "application/json"), 0.0
        if target.startswith(b"/wmts"):
            return self.capabilities, 0.0
        return self.not_found, 0.0

    def protocol(self) -> asyncio.Protocol:
        return _Connection(self)

    async def serve_forever(self) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self.protocol, "127.0.0.1", self.port, backlog=1024)
        async with server:
            await server.serve_forever()


class _Connection(asyncio.Protocol):
    def __init__(self, upstream: TileUpstream) -> None:
        self.upstream = upstream
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            request_line, _, headers = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            target = parts[1] if len(parts) == 3 else b"/"
            response, delay = self.upstream.answer(target)
            close = b"connection: close" in headers.lower() or parts[-1] == b"HTTP/1.0"
            if delay:
                asyncio.get_running_loop().call_later(delay, self._send, response, close)
            else:
                self._send(response, close)

    def _send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def main() -> None:
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--slow-delay", type=float, default=0.2)
    args = parser.parse_args()
    uvloop.run(TileUpstream(args.port, slow_delay=args.slow_delay).serve_forever())


if __name__ == "__main__":
    main()
