"""Pre-built pyramid: every non-empty tile of every tileset to its maxzoom, gzip-compressed, in one PMTiles
archive per tileset under `<pyramid_dir>/<tiles version>/`, the file a CDN or another portal can take (served
by range at /tiles/<name>.pmtiles). The service keeps the tiles up to PYRAMID_MAXZOOM in memory.
"""

from __future__ import annotations

import contextlib
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
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

from .. import queries
from ..catalog import BOUNDS, CENTER, PYRAMID_MAXZOOM, TILESETS, attribution, tilejson_fields
from ..layout import DONE, archive_path

log = logging.getLogger("rezone.tiles.build")

_LAYERS = files(__package__).joinpath("layers.sql").read_text()
_EXTENTS = files(__package__).joinpath("extents.sql").read_text()
_HALF = 20037508.342789244
_POINT_LAYERS = [layer.id for layer in TILESETS["finess"].layers]
_COMPLETE = {name: tileset.maxzoom for name, tileset in TILESETS.items()}
_MARGIN = max(layer.margin for tileset in TILESETS.values() for layer in tileset.layers)


def candidate_tiles(extents: list[tuple[float, float, float, float]], z: int) -> list[tuple[int, int]]:
    """Tiles of zoom z whose envelope, widened by the largest read margin of a layer, meets an extent."""
    n = 2**z
    size = 2 * _HALF / n
    margin = size * _MARGIN
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


def pyramid_complete(pyramid_dir: Path, version: str, maxzoom: int = PYRAMID_MAXZOOM) -> bool:
    """Whether the archives of `version` were all written, to every tileset's maxzoom, with `maxzoom` the
    in-memory depth (an archive of an older build that stopped at z10 is rebuilt)."""
    marker = pyramid_dir / version / DONE
    if not marker.exists():
        return False
    done = json.loads(marker.read_text())
    return bool(done.get("maxzoom") == maxzoom and done.get("complete") == _COMPLETE)


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


def _plan(
    extents: dict[str, list[tuple[float, float, float, float]]], z: int
) -> list[tuple[int, int, int, list[str]]]:
    """(tile id, x, y, layers to ask) of zoom z in ascending tile id (a clustered archive): admin layers where
    a département is, FINESS layers only near points (at z13-14 that is a few thousand tiles, not France)."""
    active = sorted({layer for tileset in TILESETS.values() for layer in tileset.layers_at(z)})
    wanted: dict[tuple[int, int], list[str]] = {}
    for kind, layers in (("admin", [a for a in active if a not in _POINT_LAYERS]), ("finess", _POINT_LAYERS)):
        layers = [a for a in layers if a in active]
        if layers:
            for xy in candidate_tiles(extents.get(kind, []), z):
                wanted.setdefault(xy, []).extend(layers)
    return sorted((zxy_to_tileid(z, x, y), x, y, layers) for (x, y), layers in wanted.items())


async def build_pyramid(
    conn: asyncpg.Connection, pyramid_dir: Path, version: str, maxzoom: int = PYRAMID_MAXZOOM
) -> dict[str, Any]:
    """Write the archives of `version`, each complete to its tileset's maxzoom; `maxzoom` is the depth the
    service keeps in memory (recorded in the marker). Older versions stay: this runs inside the load's
    transaction, and until it commits the services still serve the previous version (prune_pyramids removes
    it later)."""
    started = time.perf_counter()
    extents: dict[str, list[tuple[float, float, float, float]]] = {}
    for r in await conn.fetch(_EXTENTS):
        extents.setdefault(r["kind"], []).append((r["xmin"], r["ymin"], r["xmax"], r["ymax"]))
    credits = attribution(await queries.demo_sources(conn))
    groups = [g.key for g in await queries.finess_groups(conn)]
    target = pyramid_dir / version
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    stats: dict[str, Any] = {"queried": 0, "raw_bytes": 0, "largest_raw": 0, "seconds_by_zoom": {}}
    counts = dict.fromkeys(TILESETS, 0)
    zooms: dict[str, list[int]] = {name: [] for name in TILESETS}
    with contextlib.ExitStack() as stack:
        # Tiles go to disk as they come (the writers spool to temporary files): memory stays flat at z14.
        writers = {
            name: stack.enter_context(write(archive_path(pyramid_dir, version, name))) for name in TILESETS
        }
        for z in range(max(t.maxzoom for t in TILESETS.values()) + 1):
            at = time.perf_counter()
            for tile_id, x, y, layers in _plan(extents, z):
                drawn = {r["layer"]: r["mvt"] for r in await conn.fetch(_LAYERS, z, x, y, layers)}
                stats["queried"] += 1
                for name, tileset in TILESETS.items():
                    raw = b"".join(drawn.get(layer, b"") for layer in tileset.layers_at(z))
                    if raw:
                        writers[name].write_tile(tile_id, gzip_tile(raw))
                        counts[name] += 1
                        zooms[name] += [z] if not zooms[name] or zooms[name][-1] != z else []
                        stats["raw_bytes"] += len(raw)
                        stats["largest_raw"] = max(stats["largest_raw"], len(raw))
            stats["seconds_by_zoom"][z] = round(time.perf_counter() - at, 1)
        for name, writer in writers.items():
            if not counts[name]:
                continue  # nothing to show (no CPTS loaded yet): no archive, the service answers 204
            # The TileJSON fields a PMTiles reader shows (name, attribution, vector_layers, bounds: the same
            # values as /tiles/<name>.json), with the zoom range the archive holds.
            metadata = {
                **tilejson_fields(name, version, credits, groups),
                "format": "pbf",
                "minzoom": zooms[name][0],
                "maxzoom": zooms[name][-1],
            }
            writer.finalize(_header(maxzoom), metadata)
    for name, count in counts.items():
        if not count:
            archive_path(pyramid_dir, version, name).unlink(missing_ok=True)
    (target / DONE).write_text(json.dumps({"version": version, "maxzoom": maxzoom, "complete": _COMPLETE}))
    stats["tiles"] = counts
    stats["bytes"] = {
        name: archive_path(pyramid_dir, version, name).stat().st_size for name in TILESETS if counts[name]
    }
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
