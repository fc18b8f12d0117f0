"""Tiles fixtures: one real tiles process on the session database, and helpers to address and decode tiles."""

from __future__ import annotations

import gzip
import math
import re

import aiohttp
import asyncpg
import mapbox_vector_tile
import pytest


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile containing a WGS84 point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def decode(body: bytes) -> dict:
    """Layers of an MVT body (gzip or not), geometry in tile units with y pointing down."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def tile_to_mercator(z: int, x: int, y: int, px: float, py: float, extent: int = 4096) -> tuple[float, float]:
    """EPSG:3857 coordinates of a point given in tile units (y down)."""
    half = 20037508.342789244
    size = 2 * half / 2**z
    return -half + (x + px / extent) * size, half - (y + py / extent) * size


async def fetch(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows of one query on the session database (what a test compares the tiles with)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def metric(session: aiohttp.ClientSession, base: str, name: str) -> float:
    """Sum of every sample of one Prometheus metric of the service."""
    async with session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


@pytest.fixture(scope="session")
def tiles_url(run_service) -> str:
    """Base URL of a tiles service on the session database, with its pre-built pyramid."""
    return run_service("services.tiles", {"REZONE_TILES_VERSION_POLL_S": "3600"})


@pytest.fixture(scope="session")
def tiles_url_no_pyramid(run_service, tmp_path_factory) -> str:
    """A second process with no pyramid: every zoom is built by PostGIS (what a cold CDN origin does)."""
    empty = tmp_path_factory.mktemp("no-pyramid")
    return run_service(
        "services.tiles", {"REZONE_TILES_PYRAMID_DIR": str(empty), "REZONE_TILES_VERSION_POLL_S": "3600"}
    )


@pytest.fixture
async def http() -> aiohttp.ClientSession:
    """A client that does not decompress, so Content-Encoding can be checked."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session
