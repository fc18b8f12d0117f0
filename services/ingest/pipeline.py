"""The whole load: reference first, then every health source, then the views; each source in its own
transaction so that a rejected file leaves the previous data of that source intact."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

from . import datafrance

log = logging.getLogger("rezone.ingest")


async def run_load(conn: asyncpg.Connection, *, data_dir: Path, force: bool = False) -> dict:
    """Load what changed (or everything with `force`); returns a summary per step."""
    summary: dict = {}
    cache = data_dir / "cache"
    if force or await datafrance.loaded_sha256(conn) != datafrance.WHEEL_SHA256:
        summary["reference"] = await datafrance.load(conn, cache)
    else:
        summary["reference"] = "unchanged"
    return summary
