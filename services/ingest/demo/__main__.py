"""`python -m services.ingest.demo [--out DIR]`: write the demo files from the database in DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from ...common.logs import setup_logging
from . import generate

ROOT = Path(__file__).resolve().parents[3]


async def _main(out: Path) -> int:
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    conn = await asyncpg.connect(dsn)
    try:
        files = await generate(conn, out)
    finally:
        await conn.close()
    for key, name in sorted(files.items()):
        print(f"{key}: {out / name}")
    return 0


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.ingest.demo")
    parser.add_argument(
        "--out", default=str(ROOT / ".data" / "demo"), help="directory to write the files into"
    )
    args = parser.parse_args()
    setup_logging("ingest", os.environ.get("LOG_LEVEL", "INFO"))
    return asyncio.run(_main(Path(args.out)))


if __name__ == "__main__":
    sys.exit(main())
