"""Offer of care: demography, densities, activity, FINESS structures."""

from __future__ import annotations

import msgspec

from services.common.contract.figures import Comparisons, Status


class DemographyRow(msgspec.Struct, kw_only=True):
    """Professionals of one category; ages are not applicable to businesses."""

    category: str
    label: str
    family: str
    is_business: bool
    parent: str | None  # "dont" rows (MEP) are a subset of their parent, never added to totals
    n: int
    n_60plus: int | None  # over the communes whose ages are kept (per commune, rule 7)
    n_65plus: int | None
    ages_n: int | None  # professionals of those communes: the base of n_60plus and n_65plus
    ages_neutralised_communes: list[str]  # communes whose ages are not counted (table order)
    ages_partial: bool  # some communes' ages not counted: print "*"
    ages_masked: bool  # no age published (business, no professional, or secrecy)
    ages_status: Status
    ages_reason: str | None


class ActivityCell(msgspec.Struct, kw_only=True):
    """Professionals of one profession in one selected commune."""

    code: str
    n_ps: int  # 0: sans activité
    counted: bool  # at least 5 professionals, 11 patients and 11 of each act: its activity is counted


class RatioFigure(msgspec.Struct, kw_only=True):
    """Patients or acts per professional, on the counted communes only."""

    key: str
    label: str
    detail: str | None
    value: float | None
    masked: bool
    status: Status
    reason: str | None
    partial: bool
    comparisons: Comparisons


class ProfessionActivity(msgspec.Struct, kw_only=True):
    """Activity of one profession: per-commune counts, neutralisation summary, ratios."""

    profession: str
    label: str
    communes: list[ActivityCell]
    n_ps_total: int  # sum of `communes[].n_ps`
    n_ps_counted: int
    n_ps_neutralised: int  # sum of the entries not counted (1 to 4, or too few patients or acts)
    neutralised_communes: list[str]
    inactive_communes: list[str]  # sans activité
    neutralised_rate: float  # n_ps_neutralised / n_ps_total in %, 1 decimal (0 when no professional)
    summary: str  # "N commune(s) neutralisée(s) : X sur Y non pris en compte"
    patients_per_ps: RatioFigure
    acts: list[RatioFigure]


class StructureCommune(msgspec.Struct, kw_only=True):
    """Structures of a group in one commune."""

    code: str
    nom: str
    n: int


class StructureGroup(msgspec.Struct, kw_only=True):
    """FINESS geographic entities of one group ("sur le territoire" and "sur les communes")."""

    key: str
    label: str
    sector: str
    coordinated: bool
    total: int
    communes: list[StructureCommune]


class Density(msgspec.Struct, kw_only=True):
    """Professionals of one category per 10 000 INSEE inhabitants, against département, région and France.

    Counts of professionals and populations are public: every commune counts (communes without an INSEE
    population in neither term). « sans objet » when the selected communes have no inhabitant."""

    category: str
    label: str
    n: int  # professionals of the communes with a known population
    value: float | None  # per 10 000 inhabitants, 1 decimal
    status: Status
    reason: str | None
    comparisons: Comparisons  # weights: the territory's INSEE population in each unit


class Offer(msgspec.Struct, kw_only=True):
    """Offer of care: demography, densities, activity, FINESS structures, centres de santé by type."""

    demography: list[DemographyRow]
    demography_source: str
    demography_period: str
    densities: list[Density]
    activity: list[ProfessionActivity]
    activity_source: str
    activity_period: str
    structures: list[StructureGroup]
    centres_de_sante: list[StructureGroup]
    structures_source: str
    structures_period: str
