"""`mapmap serve`, `mapmap check --deploy` (from servicekit) and `mapmap seed`."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
from pyproj import Transformer
from servicekit.cli import service_cli

from mapmap.config import Settings, admin_token_check
from mapmap.tms import TileIndex, web_mercator_quad

__all__ = ["main", "seed_tiles"]

main = service_cli(
    "mapmap",
    settings_factory=Settings,
    app_factory_path="mapmap.app:asgi",
    extra_checks=[admin_token_check],
    help_text="MapMap: a WMTS tile proxy with reprojection, coalescing and HTTP caching.",
)

_MAX_LAT = 85.0511287798066


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter("expected west,south,east,north in degrees, e.g. 20.9,55.6,28.3,58.1") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise click.BadParameter("bbox must satisfy -180 <= west < east <= 180 and -90 <= south < north <= 90")
    return west, south, east, north


def _parse_zoom(text: str) -> range:
    match = re.fullmatch(r"(\d{1,2})(?:-(\d{1,2}))?", text.strip())
    if match is None:
        raise click.BadParameter("expected a zoom or a range such as 5-12")
    low = int(match[1])
    high = int(match[2] or match[1])
    if low > high or high > 24:
        raise click.BadParameter("zoom range must be ascending and at most 24")
    return range(low, high + 1)


def seed_tiles(bbox: tuple[float, float, float, float], zooms: range, tile_size: int = 256) -> Iterator[TileIndex]:
    """Every WebMercatorQuad tile intersecting a lon/lat bbox, coarse zooms first."""
    west, south, east, north = bbox
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    left, bottom = to_mercator.transform(west, max(south, -_MAX_LAT))
    right, top = to_mercator.transform(east, min(north, _MAX_LAT))
    grid = web_mercator_quad(tile_size)
    for z in zooms:
        yield from grid.tiles(z, (left, bottom, right, top))


async def _seed(
    url: str, endpoint: str, tiles: list[TileIndex], *, concurrency: int, state: Path, tile_size: int
) -> tuple[int, int]:
    failures = 0
    semaphore = asyncio.Semaphore(concurrency)
    suffix = "@2x.png" if tile_size == 512 else ".png"
    with state.open("a", encoding="utf-8") as journal, click.progressbar(length=len(tiles), label="seeding") as bar:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def one(tile: TileIndex) -> None:
                nonlocal failures
                async with semaphore:
                    try:
                        response = await client.get(f"/tiles/{endpoint}/{tile.z}/{tile.x}/{tile.y}{suffix}")
                    except httpx.HTTPError:
                        response = None
                if response is not None and response.status_code in (200, 204, 404):
                    journal.write(f"{tile.z}/{tile.x}/{tile.y}\n")
                    journal.flush()
                else:
                    failures += 1
                bar.update(1)

            await asyncio.gather(*(one(tile) for tile in tiles))
    return len(tiles) - failures, failures


@main.command("seed", help="Warm a running MapMap's cache for ENDPOINT over a bbox and zoom range (resumable).")
@click.argument("endpoint")
@click.option("--bbox", required=True, help="west,south,east,north in degrees")
@click.option("--zoom", "zoom_text", required=True, help="zoom or range, e.g. 5-12")
@click.option("--url", default=None, help="MapMap base URL (default: http://HOST:PORT from the settings)")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="parallel requests")
@click.option("--state", "state_path", type=click.Path(path_type=Path), default=None, help="resume journal file")
@click.option("--tile-size", type=click.Choice(["256", "512"]), default="256", show_default=True)
def seed_command(
    endpoint: str, bbox: str, zoom_text: str, url: str | None, concurrency: int, state_path: Path | None, tile_size: str
) -> None:
    box = _parse_bbox(bbox)
    zooms = _parse_zoom(zoom_text)
    size = int(tile_size)
    base = url or Settings().self_url()
    state = state_path or Path(f".mapmap-seed-{re.sub(r'[^a-z0-9_-]', '_', endpoint)}-{size}.txt")
    done = set(state.read_text(encoding="utf-8").split()) if state.exists() else set()
    todo = [t for t in seed_tiles(box, zooms, size) if f"{t.z}/{t.x}/{t.y}" not in done]
    click.echo(f"{len(done)} tiles already done, {len(todo)} to seed (journal: {state})")
    seeded, failed = asyncio.run(_seed(base, endpoint, todo, concurrency=concurrency, state=state, tile_size=size))
    click.echo(f"seeded {seeded} tiles, {failed} failed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
