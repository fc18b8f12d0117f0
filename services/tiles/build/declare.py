"""The catalog's layer declaration into `tiles.layers`, which the SQL layer functions read (V0310).

Run at every build, in the load's transaction and before any tile is drawn: the table then always says what
the running catalog says, and a tile is never drawn from another declaration than the one its version names.
"""

from __future__ import annotations

import asyncpg

from ..catalog import layer_rows

_DELETE = "DELETE FROM tiles.layers WHERE id <> ALL($1::text[])"
_UPSERT = (
    "INSERT INTO tiles.layers (id, minzoom, maxzoom, extent, buffer, margin, detail_minzoom) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (id) DO UPDATE SET minzoom = EXCLUDED.minzoom, maxzoom = EXCLUDED.maxzoom, "
    "extent = EXCLUDED.extent, buffer = EXCLUDED.buffer, margin = EXCLUDED.margin, "
    "detail_minzoom = EXCLUDED.detail_minzoom"
)
_READ = "SELECT id, minzoom, maxzoom, extent, buffer, margin, detail_minzoom FROM tiles.layers ORDER BY id"


async def declare_layers(conn: asyncpg.Connection) -> bool:
    """Make `tiles.layers` equal to the catalog's layers; True when it changed."""
    wanted = sorted(layer_rows())
    if [tuple(r) for r in await conn.fetch(_READ)] == wanted:
        return False
    async with conn.transaction():
        await conn.execute(_DELETE, [row[0] for row in wanted])
        await conn.executemany(_UPSERT, wanted)
    return True
