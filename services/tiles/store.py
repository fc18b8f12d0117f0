"""Where a tile comes from: the in-memory pyramid (z ≤ its max zoom), else the LRU, else PostGIS.

The store follows the tiles version: a background task polls `tiles.version()` and, when it changes (a new
load), swaps in the new version's pyramid and drops the LRU, so a running service never mixes versions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from pmtiles.reader import MmapSource, all_tiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..common.concurrency import SingleFlight
from ..common.db import connection, db_errors
from . import queries
from .cache import Tile, tile_lru
from .catalog import TILESETS, attribution
from .layout import DONE, archive_path

log = logging.getLogger("rezone.tiles.store")
EMPTY = Tile(b"", 0)
Key = tuple[str, int, int, int]


class TileMetrics:
    """Prometheus series of the tile path; children are cached because `.labels()` is not free per request."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "tiles_requests_total",
            "Tile lookups by tileset, zoom and where they were found (pyramid, hit, miss, coalesced)",
            ["tileset", "z", "source"],
            registry=registry,
        )
        self.generation = Histogram(
            "tiles_generation_seconds",
            "Database time to build one tile",
            ["tileset", "z"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.size = Histogram(
            "tiles_size_bytes",
            "Uncompressed size of generated tiles",
            ["tileset", "z"],
            registry=registry,
            buckets=(0, 1024, 4096, 16384, 51200, 102400, 262144, 524288, 1048576),
        )
        self.db_queries = Counter(
            "tiles_db_queries_total", "Tile queries sent to PostgreSQL", registry=registry
        )
        self.cache_bytes = Gauge("tiles_cache_bytes", "Bytes held by the tile LRU", registry=registry)
        self.cache_entries = Gauge("tiles_cache_entries", "Tiles held by the tile LRU", registry=registry)
        self.pyramid_tiles = Gauge("tiles_pyramid_tiles", "Pre-built tiles held in memory", registry=registry)
        self.pyramid_bytes = Gauge(
            "tiles_pyramid_bytes", "Bytes of pre-built tiles held in memory", registry=registry
        )
        self._children: dict[tuple[str, int, str], Any] = {}

    def count(self, tileset: str, z: int, source: str) -> None:
        """One lookup."""
        key = (tileset, z, source)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(tileset, str(z), source)
        child.inc()


def load_pyramid(pyramid_dir: Path, version: str) -> tuple[dict[Key, Tile], int] | None:
    """The tiles of the version's archives up to the in-memory max zoom as (tileset, z, x, y) → Tile, and that
    zoom (deeper tiles, in the archives for download, come from the LRU and PostGIS like any cold tile).

    None when the version has no complete pyramid (not built yet, or built into another directory).
    """
    marker = pyramid_dir / version / DONE
    if not marker.exists():
        return None
    maxzoom = int(json.loads(marker.read_text())["maxzoom"])
    tiles: dict[Key, Tile] = {}
    for name in TILESETS:
        path = archive_path(pyramid_dir, version, name)
        if not path.exists():  # a tileset with no feature at all has no archive
            continue
        with path.open("rb") as f:
            # pmtiles ships no annotations on its reader functions. Tiles come in tile id order, so by zoom.
            for (z, x, y), data in all_tiles(MmapSource(f)):  # type: ignore[no-untyped-call]
                if z > maxzoom:
                    break
                tiles[(name, z, x, y)] = Tile(bytes(data), -1)
    return tiles, maxzoom


class TileStore:
    """Tile lookup for the handlers; one per application."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        pyramid_dir: Path,
        cache_bytes: int,
        metrics: TileMetrics,
        acquire_timeout_s: float = 2.0,
    ) -> None:
        self.pool = pool
        self.pyramid_dir = pyramid_dir
        self.metrics = metrics
        self.cache = tile_lru(cache_bytes)
        self.flight: SingleFlight[Key, Tile] = SingleFlight()
        self.acquire_timeout_s = acquire_timeout_s
        self.version: str | None = None
        self.attribution = attribution()  # says "demonstration" until the sources are read
        self.finess_groups: list[queries.FinessGroup] = []  # ref.finess_groups, read with each tiles version
        self.pyramid: dict[Key, Tile] = {}
        self.pyramid_maxzoom = -1

    async def refresh(self) -> bool:
        """Follow the database's tiles version; True when something changed."""
        async with db_errors():
            version = await self._fetch_version()
        changed = False
        if version != self.version:
            async with connection(self.pool, self.acquire_timeout_s) as conn:
                self.attribution = attribution(await queries.demo_sources(conn))
                self.finess_groups = await queries.finess_groups(conn)
            log.info("tiles version", extra={"previous": self.version, "version": version})
            self.version, self.pyramid, self.pyramid_maxzoom = version, {}, -1
            self.cache.clear()
            changed = True
        if version is not None and self.pyramid_maxzoom < 0:
            loaded = await asyncio.to_thread(load_pyramid, self.pyramid_dir, version)
            if loaded is None:
                log.warning(
                    "no pre-built pyramid for this version: every zoom comes from the database",
                    extra={"version": version, "pyramid_dir": str(self.pyramid_dir)},
                )
            elif self.version == version:
                self.pyramid, self.pyramid_maxzoom = loaded
                self.cache.clear()
                changed = True
                log.info(
                    "pyramid loaded",
                    extra={"version": version, "tiles": len(self.pyramid), "maxzoom": self.pyramid_maxzoom},
                )
        self.metrics.pyramid_tiles.set(len(self.pyramid))
        self.metrics.pyramid_bytes.set(sum(len(t.gz) for t in self.pyramid.values()))
        return changed

    async def _fetch_version(self) -> str | None:
        async with connection(self.pool, self.acquire_timeout_s) as conn:
            return await queries.version(conn)

    async def get(self, tileset: str, z: int, x: int, y: int) -> Tile:
        """The tile, from memory when possible."""
        key = (tileset, z, x, y)
        if z <= self.pyramid_maxzoom:
            self.metrics.count(tileset, z, "pyramid")
            return self.pyramid.get(key, EMPTY)
        tile = self.cache.fresh(key)
        if tile is not None:
            self.metrics.count(tileset, z, "hit")
            return tile
        tile, joined = await self.flight.run(key, lambda: self._generate(key))
        self.metrics.count(tileset, z, "coalesced" if joined else "miss")
        return tile

    async def _generate(self, key: Key) -> Tile:
        tileset, z, x, y = key
        version = self.version
        started = time.perf_counter()
        async with db_errors():
            async with connection(self.pool, self.acquire_timeout_s) as conn:
                self.metrics.db_queries.inc()
                raw = await queries.tile(conn, tileset, z, x, y)
        self.metrics.generation.labels(tileset, str(z)).observe(time.perf_counter() - started)
        self.metrics.size.labels(tileset, str(z)).observe(len(raw))
        tile = await asyncio.to_thread(Tile.from_raw, raw) if len(raw) > 65536 else Tile.from_raw(raw)
        if version == self.version:  # built from the tables of the version still current
            self.cache.put(key, tile)
            self.metrics.cache_bytes.set(self.cache.bytes)
            self.metrics.cache_entries.set(len(self.cache))
        return tile


STORE = web.AppKey("store", TileStore)
