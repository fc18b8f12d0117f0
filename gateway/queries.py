"""Database reads of the gateway: commune search and detail, catalogue, loaded sources, CPTS perimeters."""

from __future__ import annotations

from importlib.resources import files

import asyncpg

from services.common.contract import Source
from services.common.validation import is_code_start

from .schemas import CommuneDetail, CommuneHit, Cpts, Departement, Epci, Region


def _sql(name: str) -> str:
    return files(__package__).joinpath(f"queries/{name}.sql").read_text()


_SEARCH_NAME = _sql("search_name")
_SEARCH_CODE = _sql("search_code")
_COMMUNE = _sql("commune")
_CATALOGUE = _sql("catalogue_communes")
_ALD = _sql("catalogue_ald")
_DATA_VERSION = _sql("data_version")
_DATA_SOURCES = _sql("data_sources")
_PERIMETERS = _sql("cpts_perimeters")


def _label(nom: str, departement_code: str) -> str:
    return f"{nom} ({departement_code})"


def _cpts(row: asyncpg.Record) -> Cpts | None:
    return Cpts(row["cpts_id"], row["cpts_nom"], row["cpts_statut"]) if row["cpts_id"] is not None else None


async def search(
    conn: asyncpg.Connection, text: str, limit: int, plm: dict[str, list[str]]
) -> list[CommuneHit]:
    """Communes by name or code prefix, ranked; PLM parents carry their arrondissements."""
    candidate = text.strip().upper()
    if is_code_start(candidate):
        rows = await conn.fetch(_SEARCH_CODE, candidate, limit)
    else:
        rows = await conn.fetch(_SEARCH_NAME, text, limit)
    return [
        CommuneHit(
            code=r["code"],
            nom=r["nom"],
            label=_label(r["nom"], r["departement_code"]),
            kind=r["kind"],
            selectable=r["selectable"],
            population=r["population"],
            departement=Departement(r["departement_code"], r["departement_nom"]),
            parent_code=r["parent_code"],
            arrondissements=plm.get(r["code"]),
            cpts=_cpts(r),
        )
        for r in rows
    ]


async def commune(conn: asyncpg.Connection, code: str, plm: dict[str, list[str]]) -> CommuneDetail | None:
    """One commune by exact code, or None."""
    r = await conn.fetchrow(_COMMUNE, code)
    if r is None:
        return None
    has_geom = r["xmin"] is not None
    return CommuneDetail(
        code=r["code"],
        nom=r["nom"],
        label=_label(r["nom"], r["departement_code"]),
        kind=r["kind"],
        selectable=r["selectable"],
        population=r["population"],
        departement=Departement(r["departement_code"], r["departement_nom"]),
        region=Region(r["region_code"], r["region_nom"]),
        epci=Epci(r["epci_code"], r["epci_nom"]) if r["epci_code"] is not None else None,
        parent_code=r["parent_code"],
        arrondissements=plm.get(r["code"]),
        cpts=_cpts(r),
        center=[r["lon"], r["lat"]] if r["lon"] is not None else None,
        bbox=[r["xmin"], r["ymin"], r["xmax"], r["ymax"]] if has_geom else None,
    )


async def data_version(conn: asyncpg.Connection) -> str:
    """Current data version (changes with any reload)."""
    version: str = await conn.fetchval(_DATA_VERSION)
    return version


async def catalogue_rows(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[str]]:
    """Every commune code with selectability and parent, and the ALD indicator ids."""
    return await conn.fetch(_CATALOGUE), [r["id"] for r in await conn.fetch(_ALD)]


async def data_sources(conn: asyncpg.Connection) -> list[Source]:
    """Every loaded source (label, block, vintage, demo flag), by block then source."""
    return [Source(**dict(r)) for r in await conn.fetch(_DATA_SOURCES)]


async def cpts_perimeters(conn: asyncpg.Connection) -> list[list[str]]:
    """The commune lists of the existing CPTS."""
    return [list(r["communes"]) for r in await conn.fetch(_PERIMETERS)]
