"""The selected communes and the totals of the territory table."""

from __future__ import annotations

from typing import Literal

import msgspec


class CptsRef(msgspec.Struct, kw_only=True):
    """The existing CPTS a commune belongs to."""

    id: int
    nom: str
    statut: str


class Commune(msgspec.Struct, kw_only=True):
    """One selected commune, as in the territory table."""

    code: str
    nom: str
    departement: str
    region: str
    population: int | None  # INSEE population municipale; null when unknown (Mayotte…)
    qpv: list[str]  # QPV codes touching the commune
    qpv_count: int
    zonage: Literal["ZIP", "ZAC"] | None  # null: hors zonage
    cpts: CptsRef | None
    partial: bool  # missing population or contour


class UnitGroup(msgspec.Struct, kw_only=True):
    """A département or région of the territory with its selected communes (table grouping)."""

    code: str
    nom: str
    communes: list[str]
    population: int


class Territory(msgspec.Struct, kw_only=True):
    """Totals of the territory table."""

    commune_count: int
    population: int  # sum of known populations
    population_partial: bool  # at least one commune without population
    departements: list[UnitGroup]
    regions: list[UnitGroup]
    qpv_count: int  # distinct QPV codes (not the per-commune sum)
    qpv_codes: list[str]
    qpv_commune_sum: int  # the per-commune sum, for reference
    zonage_count: int  # communes in ZIP or ZAC ("k sur N")
    zip_count: int
    zac_count: int
