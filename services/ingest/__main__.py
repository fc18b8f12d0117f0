"""Command line of the data pipeline:
`python -m services.ingest {migrate|load} [--force] [--accept-shrink] [--data-dir DIR]`.

The demo files alone: `python -m services.ingest.demo`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import asyncpg

from ..common.errors import ImportRejected
from ..common.logs import setup_logging
from . import migrate as migrations
from .pipeline import run_load

ROOT = Path(__file__).resolve().parents[2]


async def _main(args: argparse.Namespace) -> int:
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        print("DATABASE_URL is not set (make dsn prints the stack's)", file=sys.stderr)
        return 2
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        applied = await migrations.migrate(conn)
        if args.command == "migrate":
            print(f"migrations applied: {applied or 'none (up to date)'}")
            return 0
        summary = await run_load(
            conn, data_dir=Path(args.data_dir), force=args.force, accept_shrink=args.accept_shrink
        )
        print(f"load done in {time.perf_counter() - started:.1f}s: {summary}")
        return 0
    except ImportRejected as exc:
        print(f"import rejected: {exc}", file=sys.stderr)
        return 3
    except migrations.MigrationError as exc:
        print(f"migration error: {exc}", file=sys.stderr)
        return 4
    finally:
        await conn.close()


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.ingest")
    parser.add_argument("command", choices=["migrate", "load"])
    parser.add_argument("--force", action="store_true", help="reload every source even when unchanged")
    parser.add_argument(
        "--accept-shrink",
        action="store_true",
        help="load a file even when it has far fewer rows than the previous load (files.MIN_ROW_RATIO)",
    )
    parser.add_argument("--data-dir", default=str(ROOT / ".data"), help="cache and generated demo files")
    setup_logging("ingest", os.environ.get("LOG_LEVEL", "INFO"))
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
