"""Time and size of the load-time PMTiles build (every tileset to its maxzoom), on a loaded database.

    DATABASE_URL=$(make dsn) .venv/bin/python bench/tiles/bench_pyramid.py [--out DIR]

Runs services/tiles/build/pyramid.py's build_pyramid in a read-only transaction into a temporary directory
(or --out), then prints the seconds per zoom, the tiles and bytes of each archive, and the load average.
Figures go to docs/tiles.md (section Pre-built pyramid).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.tiles import queries  # noqa: E402
from services.tiles.build.pyramid import build_pyramid  # noqa: E402


async def measure(dsn: str, out: Path) -> dict:
    """Build the archives of the database's current tiles version into `out`; the build's statistics."""
    conn = await asyncpg.connect(dsn)
    try:
        version = await queries.version(conn)
        async with conn.transaction(readonly=True):
            stats = await build_pyramid(conn, out, f"{version}-bench")
    finally:
        await conn.close()
    stats["loadavg_after"] = os.getloadavg()
    return stats


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.dsn:
        parser.error("--dsn or DATABASE_URL needed")
    print("load average before:", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        stats = asyncio.run(measure(args.dsn, args.out or Path(tmp)))
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
