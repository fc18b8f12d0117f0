"""Pre-built pyramid: every non-empty tile of every tileset up to PYRAMID_MAXZOOM, gzip-compressed, in one
PMTiles archive per tileset under `<pyramid_dir>/<tiles version>/`, the file a CDN or another portal can take.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import shutil
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
from pmtiles.tile import Compression, TileType, tileid_to_zxy, zxy_to_tileid
from pmtiles.writer import write

from .. import queries
from ..catalog import BOUNDS, CENTER, PYRAMID_MAXZOOM, TILESETS, attribution, tilejson_fields
from ..layout import DONE, archive_path

log = logging.getLogger("rezone.tiles.build")

_LAYERS = files(__package__).joinpath("layers.sql").read_text()
_EXTENTS = files(__package__).joinpath("extents.sql").read_text()
_HALF = 20037508.342789244


def candidate_tiles(extents: list[tuple[float, float, float, float]], z: int) -> list[tuple[int, int]]:
    """Tiles of zoom z whose envelope, widened by the largest query margin (1/16 tile), meets an extent."""
    n = 2**z
    size = 2 * _HALF / n
    margin = size / 16
    out: set[tuple[int, int]] = set()
    for xmin, ymin, xmax, ymax in extents:
        x0 = max(0, math.floor((xmin - margin + _HALF) / size))
        x1 = min(n - 1, math.floor((xmax + margin + _HALF) / size))
        y0 = max(0, math.floor((_HALF - ymax - margin) / size))
        y1 = min(n - 1, math.floor((_HALF - ymin + margin) / size))
        out.update((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    return sorted(out)


def gzip_tile(raw: bytes) -> bytes:
    """Deterministic gzip (mtime 0) so that identical tiles give identical archives and ETags."""
    return gzip.compress(raw, compresslevel=9, mtime=0)


def tile_zoom(tile_id: int) -> int:
    """Zoom of a PMTiles tile id."""
    z: int = tileid_to_zxy(tile_id)[0]
    return z


def pyramid_complete(pyramid_dir: Path, version: str, maxzoom: int = PYRAMID_MAXZOOM) -> bool:
    """Whether the archives of `version` were all written, up to `maxzoom`."""
    marker = pyramid_dir / version / DONE
    return marker.exists() and json.loads(marker.read_text()).get("maxzoom") == maxzoom


def _header(maxzoom: int) -> dict[str, Any]:
    west, south, east, north = BOUNDS
    lon, lat, zoom = CENTER
    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": int(west * 1e7),
        "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7),
        "max_lat_e7": int(north * 1e7),
        "center_zoom": zoom,
        "center_lon_e7": int(lon * 1e7),
        "center_lat_e7": int(lat * 1e7),
    }


async def build_pyramid(
    conn: asyncpg.Connection, pyramid_dir: Path, version: str, maxzoom: int = PYRAMID_MAXZOOM
) -> dict[str, Any]:
    """Write the archives of `version`. Older versions stay: this runs inside the load's transaction, and
    until it commits the services still serve the previous version (prune_pyramids removes it later)."""
    started = time.perf_counter()
    extents = [tuple(r) for r in await conn.fetch(_EXTENTS)]
    credits = attribution(await queries.demo_sources(conn))
    tiles: dict[str, dict[int, bytes]] = {name: {} for name in TILESETS}
    stats: dict[str, Any] = {"queried": 0, "raw_bytes": 0, "largest_raw": 0}
    for z in range(maxzoom + 1):
        active = sorted({layer for tileset in TILESETS.values() for layer in tileset.layers_at(z)})
        for x, y in candidate_tiles(extents, z):
            drawn = {r["layer"]: r["mvt"] for r in await conn.fetch(_LAYERS, z, x, y, active)}
            stats["queried"] += 1
            for name, tileset in TILESETS.items():
                raw = b"".join(drawn[layer] for layer in tileset.layers_at(z))
                if raw:
                    tiles[name][zxy_to_tileid(z, x, y)] = gzip_tile(raw)
                    stats["raw_bytes"] += len(raw)
                    stats["largest_raw"] = max(stats["largest_raw"], len(raw))
    target = pyramid_dir / version
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, by_id in tiles.items():
        if not by_id:  # nothing to show (no CPTS loaded yet): no archive, the service answers 204
            continue
        tileset = TILESETS[name]
        # The TileJSON fields a PMTiles reader shows (name, attribution, vector_layers: the same values as
        # /tiles/<name>.json), with the archive's own zoom range: deeper zooms are overzoomed by the client.
        metadata = {
            **tilejson_fields(name, version, credits),
            "format": "pbf",
            "minzoom": min(tile_zoom(t) for t in by_id),
            "maxzoom": max(tile_zoom(t) for t in by_id),
        }
        with write(archive_path(pyramid_dir, version, name)) as writer:
            for tile_id in sorted(by_id):  # ascending ids: a clustered archive
                writer.write_tile(tile_id, by_id[tile_id])
            writer.finalize(_header(maxzoom), metadata)
    (target / DONE).write_text(json.dumps({"version": version, "maxzoom": maxzoom}))
    stats["tiles"] = {name: len(by_id) for name, by_id in tiles.items()}
    stats["seconds"] = round(time.perf_counter() - started, 2)
    log.info("pyramid written", extra={"version": version, **stats})
    return stats


def prune_pyramids(pyramid_dir: Path, keep: str) -> None:
    """Remove the pyramids of every version but `keep` (the published one), once the load has committed."""
    if not pyramid_dir.is_dir():
        return
    for old in pyramid_dir.iterdir():
        if old.is_dir() and old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
