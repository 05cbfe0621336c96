"""The MBTiles disk cache beyond the shared contract: GDAL reads it as MBTiles (y flipped right), two
processes write one file at once, a locked file never blocks the event loop, expired rows are swept."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from mapmap.cache_mbtiles import MBTilesCache
from PIL import Image


async def test_gdal_reads_the_live_cache_as_mbtiles(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache_dir = tmp_path / "tiles"
    client = make_client(CACHE_BACKEND="mbtiles", CACHE_PATH=cache_dir)
    served = {}
    for x, y in ((4, 2), (4, 3), (5, 2)):
        response = await client.get(f"/tiles/demo/3/{x}/{y}.png")
        assert response.status_code == 200
        served[x, y] = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert "cache" in ready.text  # the readiness check touches the cache files
    path = cache_dir / "demo-256-png.mbtiles"
    info = await asyncio.to_thread(
        subprocess.run, ["gdalinfo", "-json", str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    described = json.loads(info.stdout)
    assert described["driverShortName"] == "MBTiles"
    assert described["size"] == [2048, 2048]  # zoom 3, whole world
    assert described["metadata"][""]["format"] == "png"
    for (x, y), expected in served.items():
        out = tmp_path / f"window-{x}-{y}.png"
        await asyncio.to_thread(
            subprocess.run,
            ["gdal_translate", "-q", "-of", "PNG", "-b", "1", "-b", "2", "-b", "3",
             "-srcwin", str(x * 256), str(y * 256), "256", "256", str(path), str(out)],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        window = np.asarray(Image.open(out).convert("RGB"))
        assert np.array_equal(window, expected), f"GDAL finds tile {x},{y} elsewhere: the TMS row flip is wrong"


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from mapmap.cache_mbtiles import MBTilesCache

    async def main(directory, worker):
        cache = MBTilesCache(Path(directory))
        body = b"T" + b"e" * 32 + b"\\x89PNG" + bytes([worker]) * 300
        writes = [cache.set(f"t:demo:256:12:{worker * 1000 + i}:7:png", body, 60) for i in range(150)]
        writes += [cache.set(f"t:demo:256:12:{i}:9:png", body, 60) for i in range(50)]  # both write these
        writes += [cache.set(f"s:demo-lks92:LKS92:5:{worker}:{i}", body, 60) for i in range(30)]
        await asyncio.gather(*writes)
        await cache.aclose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


@pytest.mark.slow
def test_two_processes_write_one_file_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(directory), str(worker)], stderr=subprocess.PIPE)
        for worker in (1, 2)
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=60)
        assert writer.returncode == 0, errors.decode()[-2000:]
    with sqlite3.connect(directory / "demo-256-png.mbtiles") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM tiles").fetchone()[0] == 2 * 150 + 50
        assert connection.execute("SELECT count(*) FROM mapmap_tile_state").fetchone()[0] == 2 * 150 + 50
    with sqlite3.connect(directory / "entries.sqlite") as connection:
        assert connection.execute("SELECT count(*) FROM entries").fetchone()[0] == 2 * 30


async def test_a_locked_file_does_not_block_the_event_loop(tmp_path: Path) -> None:
    cache = MBTilesCache(tmp_path, busy_timeout=5.0)
    try:
        await cache.set("k", b"first", ttl=60)
        holder = sqlite3.connect(tmp_path / "entries.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
        write = asyncio.create_task(cache.set("k", b"second", ttl=60))
        ticks = 0
        for _ in range(30):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()  # waiting for the lock, on a pool thread
        assert ticks == 30
        assert (await cache.get("k")).value == b"first"  # type: ignore[union-attr]  # WAL: readers never wait
        holder.execute("COMMIT")
        holder.close()
        await asyncio.wait_for(write, 5)
        assert (await cache.get("k")).value == b"second"  # type: ignore[union-attr]
    finally:
        await cache.aclose()


async def test_sweep_drops_tiles_past_their_stale_window(tmp_path: Path) -> None:
    now = [1000.0]
    cache = MBTilesCache(tmp_path, clock=lambda: now[0])
    try:
        value = b"T" + b"a" * 32 + b"\x89PNG"
        await cache.set("t:demo:256:1:0:0:png", value, ttl=10, stale_ttl=20)
        await cache.set("t:demo:256:1:1:0:png", value, ttl=100)
        await cache.set("other", b"x", ttl=10)
        now[0] += 15  # stale but inside its stale window: still there
        assert (await cache.get("t:demo:256:1:0:0:png")) is not None
        assert await cache.sweep() == 1  # "other" had no stale window
        now[0] += 20
        assert await cache.get("t:demo:256:1:0:0:png") is None
        assert await cache.sweep() == 1
        assert await cache.size() == 1
        with sqlite3.connect(tmp_path / "demo-256-png.mbtiles") as connection:
            assert connection.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall() == [(1, 1, 1)]
    finally:
        await cache.aclose()
