"""Load-time build of the tile sources, called by the ingest pipeline once every source is loaded.

Idempotent: the tables are rebuilt only when `ref.data_version()` or the build revision changed, and the
pyramid only when its archives for the current tiles version are missing from `<data_dir>/tiles`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import asyncpg

from ..catalog import layers_digest
from .declare import declare_layers
from .pyramid import build_pyramid, pyramid_complete
from .tables import build_tables

log = logging.getLogger("rezone.tiles.build")

# Bump when the generalisation or the tile functions change what a tile contains: the tiles version (data
# version + revision) is in every tile URL, so caches then fetch the new tiles. The catalog's layer
# declaration (names, zooms, extent, margins) is in it through its digest: changing it needs no bump.
REVISION = f"r4.{layers_digest()}"


async def build(conn: asyncpg.Connection, data_dir: Path) -> dict[str, Any]:
    """Bring the tiles.* tables and the pyramid up to date; returns what was done and how long it took."""
    started = time.perf_counter()
    data_version = await conn.fetchval("SELECT ref.data_version()")
    state = await conn.fetchrow("SELECT data_version, revision FROM tiles.build_state")
    summary: dict[str, Any] = {"layers": "declared" if await declare_layers(conn) else "unchanged"}
    if state is None or (state["data_version"], state["revision"]) != (data_version, REVISION):
        summary["tables"] = await build_tables(conn, data_version, REVISION)
    else:
        summary["tables"] = "unchanged"
    version = f"{data_version}-{REVISION}"
    pyramid_dir = data_dir / "tiles"
    if pyramid_complete(pyramid_dir, version):
        summary["pyramid"] = "unchanged"
    else:
        summary["pyramid"] = await build_pyramid(conn, pyramid_dir, version)
    summary["version"] = version
    summary["seconds"] = round(time.perf_counter() - started, 1)
    log.info("tiles build done", extra={"summary": summary})
    return summary
