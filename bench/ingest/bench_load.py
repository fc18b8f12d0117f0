"""Time the whole load (`python -m services.ingest load`) the way `make load` runs it, on a fresh database.

Three runs against one new database: cold (empty database, empty data directory: reference, demo generation,
every import, views, tile build), forced (`--force`: everything reloaded, demo files and pyramid reused),
and a no-op (nothing changed). Each run is a real `python -m services.ingest` process; its per-step seconds
come from the pipeline's "load finished" log line. Prints a table, the ratio to the 120 s target and the
load average at the start.

    .venv/bin/python bench/ingest/bench_load.py --admin-dsn postgresql://rezone@127.0.0.1:5499/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 120.0


def _run(dsn: str, data_dir: Path, *flags: str) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "services.ingest", "load", "--data-dir", str(data_dir), *flags],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": dsn},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"load failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    steps: dict = {}
    for line in proc.stderr.splitlines():
        if '"load finished"' in line:
            steps = json.loads(line)["seconds"]
    return wall, steps


async def _admin(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin-dsn", required=True, help="DSN of a database on the server (to create ours)")
    parser.add_argument("--keep", action="store_true", help="keep the database and data directory")
    args = parser.parse_args()
    import asyncio

    name = f"bench_load_{uuid.uuid4().hex[:6]}"
    dsn = args.admin_dsn.rsplit("/", 1)[0] + "/" + name
    data_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    wheel_cache = ROOT / ".data" / "cache"
    if wheel_cache.is_dir():  # the reference wheel is an input, not part of the load being timed
        shutil.copytree(wheel_cache, data_dir / "cache")
    load_avg = os.getloadavg()[0]
    asyncio.run(_admin(args.admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        runs = {
            "cold": _run(dsn, data_dir),
            "forced": _run(dsn, data_dir, "--force"),
            "no-op": _run(dsn, data_dir),
        }
    finally:
        if not args.keep:
            asyncio.run(_admin(args.admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            shutil.rmtree(data_dir, ignore_errors=True)
    steps = [k for k in runs["cold"][1] if k != "total"]
    print(f"load average at start: {load_avg:.1f} ({os.cpu_count()} cores)")
    print(f"{'step':<18}" + "".join(f"{k:>10}" for k in runs))
    for step in steps:
        print(f"{step:<18}" + "".join(f"{runs[k][1].get(step, 0.0):>10.1f}" for k in runs))
    print(f"{'process wall':<18}" + "".join(f"{runs[k][0]:>10.1f}" for k in runs))
    print(f"cold load / {TARGET_S:.0f} s target = {runs['cold'][0] / TARGET_S:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
