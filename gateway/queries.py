"""Database reads of the gateway: commune search and detail, catalogue, loaded sources, CPTS perimeters, the
pages of the list routes."""

from __future__ import annotations

from importlib.resources import files

import asyncpg
import msgspec

from services.common.contract import Source
from services.common.toponyms import successor_message
from services.common.validation import is_code_start

from .listing_schemas import CommuneItem, CptsItem
from .schemas import CommuneDetail, CommuneHit, Cpts, Departement, Epci, Region, SearchMatch


def _sql(name: str) -> str:
    return files(__package__).joinpath(f"queries/{name}.sql").read_text()


_SEARCH = _sql("search")
_SUCCESSORS = _sql("catalogue_successors")
_COMMUNE = _sql("commune")
_CATALOGUE = _sql("catalogue_communes")
_ALD = _sql("catalogue_ald")
_DATA_VERSION = _sql("data_version")
_DATA_SOURCES = _sql("data_sources")
_PERIMETERS = _sql("cpts_perimeters")
_CPTS_PAGE = _sql("cpts_page")
_COMMUNES_PAGE = _sql("communes_page")
# The pages are built as JSON by PostgreSQL and checked against the answer's Structs on the way through.
_CPTS_ITEMS = msgspec.json.Decoder(list[CptsItem])
_COMMUNE_ITEMS = msgspec.json.Decoder(list[CommuneItem])


def _label(nom: str, departement_code: str) -> str:
    return f"{nom} ({departement_code})"


def _cpts(row: asyncpg.Record) -> Cpts | None:
    return Cpts(row["cpts_id"], row["cpts_nom"], row["cpts_statut"]) if row["cpts_id"] is not None else None


FUZZY = (
    2,
    3,
)  # match_class of ref.search_communes for a name found with one typo (whole name, first letters)
_FORMER = {"COMD": "commune déléguée", "COMA": "commune associée"}


def _match(r: asyncpg.Record, by_code: bool) -> tuple[str, SearchMatch | None]:
    """Label of a hit and, when it matched through something else than its own name or code, how."""
    dep, via = r["departement_code"], r["via_type"]
    if via == "CP":
        texte = f"code postal {r['via_code']}"
        return f"{r['nom']} ({dep}, {texte})", SearchMatch(
            type="code_postal", texte=texte, code=r["via_code"]
        )
    if via in _FORMER:
        what = f"{_FORMER[via]} {r['nom_de']}"
        label = f"{r['via_nom']} ({what}, {dep})"
        if by_code:  # a code that no longer exists
            texte = successor_message(
                r["via_code"], r["via_nom"], r["code"], r["nom"], r["nom_de"], via, None
            )
            return label, SearchMatch(type="ancien_code", texte=texte, code=r["via_code"], nom=r["via_nom"])
        kind = "commune_deleguee" if via == "COMD" else "commune_associee"
        return label, SearchMatch(type=kind, texte=what, code=r["via_code"], nom=r["via_nom"])
    if r["match_class"] in FUZZY and not by_code:
        return _label(r["nom"], dep), SearchMatch(type="nom_approche", texte="orthographe approchante")
    return _label(r["nom"], dep), None


async def search(
    conn: asyncpg.Connection, text: str, limit: int, plm: dict[str, list[str]]
) -> list[CommuneHit]:
    """Communes by name, INSEE, postal or former code, ranked; PLM parents carry their arrondissements."""
    by_code = is_code_start(text.strip().upper())
    rows = await conn.fetch(_SEARCH, text, limit, by_code)
    hits = []
    for r in rows:
        label, match = _match(r, by_code)
        hits.append(
            CommuneHit(
                code=r["code"],
                nom=r["nom"],
                nom_de=r["nom_de"],
                label=label,
                kind=r["kind"],
                selectable=r["selectable"],
                population=r["population"],
                departement=Departement(r["departement_code"], r["departement_nom"]),
                parent_code=r["parent_code"],
                arrondissements=plm.get(r["code"]),
                cpts=_cpts(r),
                match=match,
            )
        )
    return hits


async def commune(conn: asyncpg.Connection, code: str, plm: dict[str, list[str]]) -> CommuneDetail | None:
    """One commune by exact code, or None."""
    r = await conn.fetchrow(_COMMUNE, code)
    if r is None:
        return None
    has_geom = r["xmin"] is not None
    return CommuneDetail(
        code=r["code"],
        nom=r["nom"],
        nom_de=r["nom_de"],
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


async def successors(conn: asyncpg.Connection) -> dict[str, dict[str, str | None]]:
    """Codes that no longer exist -> the commune that absorbed them, with the French sentence saying so."""
    return {
        r["old_code"]: {
            "code": r["successor_code"],
            "nom": r["successor_nom"],
            "ancien_nom": r["old_nom"],
            "relation": r["relation"],
            "date": r["effective_on"].isoformat() if r["effective_on"] else None,
            "message": successor_message(
                r["old_code"],
                r["old_nom"],
                r["successor_code"],
                r["successor_nom"],
                r["successor_nom_de"],
                r["relation"],
                r["effective_on"],
            ),
        }
        for r in await conn.fetch(_SUCCESSORS)
    }


async def data_sources(conn: asyncpg.Connection) -> list[Source]:
    """Every loaded source (label, block, vintage, demo flag), by block then source."""
    return [Source(**dict(r)) for r in await conn.fetch(_DATA_SOURCES)]


async def cpts_perimeters(conn: asyncpg.Connection) -> list[list[str]]:
    """The commune lists of the existing CPTS."""
    return [list(r["communes"]) for r in await conn.fetch(_PERIMETERS)]


async def cpts_page(
    conn: asyncpg.Connection,
    departement: str | None,
    region: str | None,
    statut: str | None,
    after: int,
    limit: int,
) -> tuple[int, list[CptsItem], bool]:
    """(how many CPTS match, the page of them after id `after`, whether more follow)."""
    # One row more than the page says whether there is a next one.
    r = await conn.fetchrow(_CPTS_PAGE, departement, region, statut, after, limit + 1)
    items = _CPTS_ITEMS.decode(r["items"])
    return r["total"], items[:limit], len(items) > limit


async def communes_page(
    conn: asyncpg.Connection,
    level: str,
    code: str,
    selectable: bool | None,
    in_cpts: bool | None,
    after: str,
    limit: int,
) -> tuple[str | None, int, list[CommuneItem], bool]:
    """(the territory's name, None when there is no such territory; how many match; the page after code
    `after`; whether more follow)."""
    r = await conn.fetchrow(_COMMUNES_PAGE, level, code, selectable, in_cpts, after, limit + 1)
    items = _COMMUNE_ITEMS.decode(r["items"])
    return r["territory_nom"], r["total"], items[:limit], len(items) > limit
