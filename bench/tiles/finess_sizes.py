"""FINESS tile sizes and build times at z12–z14, over every tile that holds at least one establishment.

    .venv/bin/python bench/tiles/finess_sizes.py --dsn DSN

Those zooms are never pre-built (the pyramid stops at z10): each tile is built by `tiles.tile_layers(…)`
on a cache miss, so the figures are the largest tile a client can receive and what building it costs in
PostGIS (one connection, one tile at a time). Prints, per zoom: tile count, largest raw and gzip size,
p50/p95 build time.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import math
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.tiles import queries as tiles_queries  # noqa: E402

_TILES = """
SELECT DISTINCT z,
       floor((ST_X(geom) + 20037508.342789244) / (40075016.685578488 / 2 ^ z))::integer AS x,
       floor((20037508.342789244 - ST_Y(geom)) / (40075016.685578488 / 2 ^ z))::integer AS y
FROM tiles.finess, generate_series(12, 14) AS z
ORDER BY 1, 2, 3"""


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def main() -> None:
    """Measure and print one line per zoom."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    conn = await asyncpg.connect(args.dsn)
    try:
        per_zoom: dict[int, list[tuple[int, int, float]]] = {}
        for z, x, y in await conn.fetch(_TILES):
            started = time.perf_counter()
            raw = await tiles_queries.tile(conn, "finess", z, x, y)
            elapsed = (time.perf_counter() - started) * 1000
            per_zoom.setdefault(z, []).append((len(raw), len(gzip.compress(raw, 9)), elapsed))
    finally:
        await conn.close()
    print(f"{'z':>3} {'tiles':>6} {'max raw KB':>11} {'max gz KB':>10} {'p50 ms':>7} {'p95 ms':>7}")
    for z, rows in sorted(per_zoom.items()):
        times = [t for _, _, t in rows]
        print(
            f"{z:>3} {len(rows):>6} {max(r for r, _, _ in rows) / 1024:>11.1f} "
            f"{max(g for _, g, _ in rows) / 1024:>10.1f} {pct(times, 50):>7.1f} {pct(times, 95):>7.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
