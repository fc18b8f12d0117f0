"""Database reads of the tiles service: SQL in queries/*.sql, `$n` parameters only."""

from __future__ import annotations

from importlib.resources import files

import asyncpg
import msgspec

from .catalog import TILESETS

_Q = files(__package__).joinpath("queries")
_TILE = _Q.joinpath("tile.sql").read_text()
_VERSION = _Q.joinpath("version.sql").read_text()
_DEMO_SOURCES = _Q.joinpath("demo_sources.sql").read_text()
_FINESS_GROUPS = _Q.joinpath("finess_groups.sql").read_text()


async def tile(conn: asyncpg.Connection, tileset: str, z: int, x: int, y: int) -> bytes:
    """Raw (uncompressed) MVT bytes of one tile, empty when the tile has no feature."""
    return await conn.fetchval(_TILE, TILESETS[tileset].layers_at(z), z, x, y) or b""


async def version(conn: asyncpg.Connection) -> str | None:
    """Tiles version of the built tables, None before the first build."""
    version: str | None = await conn.fetchval(_VERSION)
    return version


async def demo_sources(conn: asyncpg.Connection) -> frozenset[str]:
    """Keys of the loaded sources that are demonstration data."""
    return frozenset(await conn.fetchval(_DEMO_SOURCES))


class FinessGroup(msgspec.Struct, frozen=True):
    """One row of ref.finess_groups."""

    key: str
    label: str
    sector: str
    coordinated: bool
    colour: str


async def finess_groups(conn: asyncpg.Connection) -> list[FinessGroup]:
    """The FINESS groups, in legend order."""
    return [FinessGroup(**r) for r in await conn.fetch(_FINESS_GROUPS)]
