"""FINESS géographique import: validated rows (finess_format.py) reprojected from each row's declared CRS,
placed in their counting unit (Paris, Lyon and Marseille arrondissements), and swapped in one transaction.

Overseas rows pushed through Lambert-93 would land thousands of kilometres away: each row is reprojected
from its own CRS with pyproj, vectorised per CRS.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import asyncpg
import numpy as np
import pyproj

from ..common.errors import ImportRejected
from .files import SourceFile, replace_source
from .finess_format import FILE_PATTERN, parse

__all__ = ["FILE_PATTERN", "load", "to_wgs84"]

log = logging.getLogger("rezone.ingest.finess")


@functools.lru_cache(maxsize=16)
def _to_wgs84(epsg: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)


def to_wgs84(epsg: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of projected points, each from its own EPSG (vectorised per CRS)."""
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    for code in np.unique(epsg[epsg > 0]):
        mask = epsg == code
        lon[mask], lat[mask] = _to_wgs84(int(code)).transform(x[mask], y[mask])
    return lon, lat


async def _reference(conn: asyncpg.Connection) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    categories = frozenset(
        r["categetab"] for r in await conn.fetch("SELECT categetab FROM ref.finess_categories")
    )
    departements = frozenset(r["code"] for r in await conn.fetch("SELECT code FROM ref.departements"))
    communes = frozenset(r["code"] for r in await conn.fetch("SELECT code FROM ref.communes"))
    return categories, departements, communes


STAGE_COLUMNS = (
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "ligneacheminement",
    "telephone",
    "categetab",
    "categagretab",
    "codemft",
    "codesph",
    "dateouv",
    "datemaj",
    "departement_finess",
    "commune_code",
    "coord_x",
    "coord_y",
    "source_epsg",
    "sourcecoordet",
    "geocoder",
    "geocode_score",
    "approximate",
    "lon",
    "lat",
)

_STAGE = """
CREATE TEMP TABLE stage_finess (
    nofinesset text, nofinessej text, rs text, rslongue text, complrs text, numvoie text, typvoie text,
    voie text, compvoie text, lieuditbp text, ligneacheminement text, telephone text, categetab text,
    categagretab text, codemft text, codesph text, dateouv date, datemaj date, departement_finess text,
    commune_code text, coord_x double precision, coord_y double precision, source_epsg integer,
    sourcecoordet text, geocoder text, geocode_score integer, approximate boolean,
    lon double precision, lat double precision) ON COMMIT DROP"""

# Paris, Lyon and Marseille establishments carry the city code; they count in the arrondissement that
# contains them. A centroid or a missing point says nothing about the arrondissement: the postcode does
# (75013 -> 75113, 69003 -> 69383, 13013 -> 13213).
_INSERT = """
WITH arm AS MATERIALIZED (SELECT code, parent_code, geom FROM ref.communes WHERE kind = 'ARM'),
     s AS (SELECT *, CASE WHEN lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END AS geom
           FROM stage_finess)
INSERT INTO health.finess_et (
    nofinesset, nofinessej, rs, rslongue, complrs, numvoie, typvoie, voie, compvoie, lieuditbp,
    ligneacheminement, telephone, categetab, categagretab, codemft, codesph, dateouv, datemaj,
    departement_finess, commune_code, selectable_code, coord_x, coord_y, source_epsg, sourcecoordet, geocoder,
    geocode_score, approximate, geom, geom_3857, source)
SELECT s.nofinesset, s.nofinessej, s.rs, s.rslongue, s.complrs, s.numvoie, s.typvoie, s.voie, s.compvoie,
       s.lieuditbp, s.ligneacheminement, s.telephone, s.categetab, s.categagretab, s.codemft, s.codesph,
       s.dateouv, s.datemaj, s.departement_finess, s.commune_code,
       CASE WHEN c.selectable THEN c.code
            WHEN s.geom IS NOT NULL AND NOT s.approximate THEN pip.code
            ELSE cp.code END,
       s.coord_x, s.coord_y, s.source_epsg, s.sourcecoordet, s.geocoder, s.geocode_score, s.approximate,
       s.geom, ST_Transform(s.geom, 3857), $1
FROM s
JOIN ref.communes c ON c.code = s.commune_code
LEFT JOIN LATERAL (
    SELECT a.code FROM arm a
    WHERE NOT c.selectable AND a.parent_code = c.code AND s.geom IS NOT NULL
    ORDER BY ST_Distance(a.geom, s.geom), a.code LIMIT 1) pip ON true
LEFT JOIN LATERAL (
    SELECT a.code FROM arm a
    WHERE NOT c.selectable AND a.parent_code = c.code
      AND a.code = left(c.code, 2) || CASE left(c.code, 2) WHEN '75' THEN '1' WHEN '69' THEN '38' ELSE '2' END
                   || right(substring(s.ligneacheminement from '^[0-9]{5}'), CASE left(c.code, 2)
                                                                              WHEN '69' THEN 1 ELSE 2 END)
    ) cp ON true"""


async def load(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """Validate the whole file, then replace the FINESS rows in one transaction."""
    categories, departements, communes = await _reference(conn)
    parsed = parse(file.name, file.path.read_bytes(), categories, departements, communes)
    rows = parsed.rows
    epsg = np.array([r[22] or 0 for r in rows], dtype=np.int64)
    x = np.array([r[20] if r[20] is not None else np.nan for r in rows], dtype=float)
    y = np.array([r[21] if r[21] is not None else np.nan for r in rows], dtype=float)
    lon, lat = to_wgs84(epsg, x, y)
    records = [
        (*r, None if np.isnan(lo) else float(lo), None if np.isnan(la) else float(la))
        for r, lo, la in zip(rows, lon, lat, strict=True)
    ]
    outcome: dict[str, Any] = {}

    async def write(c: asyncpg.Connection) -> None:
        await c.execute(_STAGE)
        await c.copy_records_to_table("stage_finess", records=records, columns=STAGE_COLUMNS)
        await c.execute("DELETE FROM health.finess_et WHERE source = $1", file.source)
        await c.execute(_INSERT, file.source)
        unplaced = await c.fetchval(
            """
            SELECT string_agg(nofinesset, ', ') FROM health.finess_et
            WHERE source = $1 AND selectable_code IS NULL""",
            file.source,
        )
        if unplaced:
            raise ImportRejected(
                file.name,
                None,
                f"Paris/Lyon/Marseille establishments {unplaced} can be "
                "placed in no arrondissement (no point, no postcode)",
            )
        outcome.update(
            await c.fetchrow(
                """
            SELECT count(*) AS establishments,
                   count(*) FILTER (WHERE f.approximate AND f.geom IS NOT NULL) AS approximate,
                   count(*) FILTER (WHERE f.geom IS NULL) AS without_point,
                   count(*) FILTER (WHERE f.geom IS NOT NULL AND NOT f.approximate
                                    AND NOT ST_Intersects(c.geom, f.geom)) AS outside_commune
            FROM health.finess_et f JOIN ref.communes c ON c.code = f.selectable_code
            WHERE f.source = $1""",
                file.source,
            )
        )

    vintage = f"FINESS au {parsed.extraction_date:%d/%m/%Y}"
    await replace_source(conn, file, vintage=vintage, row_count=len(records), write=write)
    outcome.update(
        lines=parsed.lines,
        encoding=parsed.encoding,
        skipped_category=parsed.skipped["category"],
        skipped_territory=parsed.skipped["territory"],
        by_epsg={int(k): int(v) for k, v in zip(*np.unique(epsg, return_counts=True), strict=True)},
    )
    if outcome["outside_commune"]:
        # Kept in the declared commune, as Rézone counts them; the count says how much to trust the points.
        log.warning(
            "FINESS points outside their declared commune", extra={"count": outcome["outside_commune"]}
        )
    log.info("finess loaded", extra={k: v for k, v in outcome.items() if k != "by_epsg"})
    return outcome
