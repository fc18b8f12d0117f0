"""The HTTP contract between services: requests and responses as msgspec Structs.

The diagnosis and summary are produced by the aggregate service and decoded by the report service and the
gateway (documented field by field in `docs/contract.md`); the report service's requests are built by the
gateway from these Structs, and its project-import answer is decoded with them. Conventions:

- Requests are frozen, keyword-only and refuse unknown fields: a typo in a client is a 400, not a default.
- Responses never omit a field: a masked figure is an explicit `null` next to `masked: true` and a French
  `reason`, never a number and never 0. Clients must not guess a value from a missing key.
- Rates (`unit` "pct" or "per100") and ratios are rounded to 1 decimal by the database before they leave it;
  differences are computed from the rounded values, so that what is printed reconciles.
- Responses do not forbid unknown fields: new fields may be added without breaking older clients.
"""

from __future__ import annotations

from typing import Literal

import msgspec

# Requests ---------------------------------------------------------------------------------------------------


class DiagnosisRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/diagnosis`: the selected communes and the ALD indicators wanted beyond the top 5."""

    communes: list[str]
    ald: list[str] = []


class SummaryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/summary`: the selected communes."""

    communes: list[str]


# Shared pieces --------------------------------------------------------------------------------

Level = Literal["departement", "region", "france"]
Unit = Literal["pct", "per100", "ratio"]
# Why a figure is or is not printed: "publie" (value given), "secret" (a value exists and is hidden by a
# secrecy
# rule), "sans_objet" (a public zero: no professional, nobody living there; printed "–" with the reason).
Status = Literal["publie", "secret", "sans_objet"]


class Source(msgspec.Struct, kw_only=True):
    """One loaded source: its label, vintage as people read it, and whether it is demonstration data."""

    source: str
    label: str
    block: str
    vintage: str
    is_demo: bool


class UnitWeight(msgspec.Struct, kw_only=True):
    """One département or région in a comparison: its share of the territory's denominator, its value."""

    code: str
    nom: str
    weight: float | None  # share of the territory's published denominator in this unit, 0..1
    value: float | None  # the unit's own value, rounded; null when masked


class Comparison(msgspec.Struct, kw_only=True):
    """Territory against one level; `weighted` when the territory spans several units of that level."""

    level: Level
    value: float | None  # comparator value (weighted mean of `weights[].value` when weighted)
    difference: float | None  # territory − comparator, in points (or units of the ratio), 1 decimal
    weighted: bool
    weights: list[UnitWeight]


class Comparisons(msgspec.Struct, kw_only=True):
    """Département, région and France comparators of one figure."""

    departement: Comparison
    region: Comparison
    france: Comparison


class Indicator(msgspec.Struct, kw_only=True):
    """One consumer-based indicator of the territory, after every secrecy rule."""

    id: str
    section: Literal["population", "acces", "prevalence", "prevention", "vaccination"]
    label: str
    definition: str
    numerator_label: str
    denominator_label: str
    unit: Unit
    value: float | None  # null when masked or sans objet
    masked: bool  # hidden by secrecy (status "secret")
    status: Status
    reason: str | None  # why there is no value, label included ("Secret statistique : …", "Sans objet : …")
    partial: bool  # at least one commune neutralised: print "*"
    numerator: int | None  # published sums (null when masked)
    denominator: int | None
    neutralised_communes: list[str]  # codes, in selection order of `communes[]`
    neutralised_rate: float  # neutralised communes / selected communes, in %, 1 decimal
    comparisons: Comparisons
    source: str  # label of the source
    period: str  # its vintage / reference period
    is_demo: bool


class IndicatorRef(msgspec.Struct, kw_only=True):
    """An indicator a client may ask for (the ALD picker)."""

    id: str
    label: str


class Alert(msgspec.Struct, kw_only=True):
    """A non-blocking remark on the selection."""

    code: Literal[
        "commune_in_cpts", "multi_departement", "multi_region", "non_contiguous", "homonyms", "partial_data"
    ]
    message: str  # French, ready to show
    communes: list[str]  # codes concerned (empty when the alert is about the whole selection)


class SecrecyRule(msgspec.Struct, kw_only=True):
    """A statistical-secrecy rule as the UI and the report print it."""

    id: str
    text: str


# Territory --------------------------------------------------------------------------------------------------


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


# Population -------------------------------------------------------------------------------------------------


class AgeBand(msgspec.Struct, kw_only=True):
    """Consumers of one age band."""

    band: Literal["0-17", "18-39", "40-64", "65-79", "80+"]
    label: str
    count: int | None
    share: float | None  # % of the published total, 1 decimal
    masked: bool
    status: Status
    reason: str | None
    comparisons: Comparisons | None  # null when the comparison is not allowed (rule 5)


class PopulationSection(msgspec.Struct, kw_only=True):
    """Age structure of consumers, ALD and C2S shares."""

    age_bands: list[AgeBand]
    age_total: int | None  # consumers counted in the bands (null when masked)
    age_neutralised_communes: list[str]
    age_comparison: bool  # rule 5: territory of at least 11 inhabitants
    age_comparison_reason: str | None
    indicators: list[Indicator]  # pop_ald, pop_c2s
    source: str
    period: str


class Prevalences(msgspec.Struct, kw_only=True):
    """Top 5 ALD of the territory by published patients, plus the ALD asked for."""

    top5: list[Indicator]
    requested: list[Indicator]
    catalogue: list[IndicatorRef]


# Offer of care ----------------------------------------------------------------------------------------------


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


# ACI --------------------------------------------------------------------------------------------------------


class AciLine(msgspec.Struct, kw_only=True):
    """One dated financing parameter (annual maximum in euros) for the territory's size."""

    instrument: str  # "ACI 2019", "Avenant 2"
    valid_from: str  # ISO date
    mission: str
    mission_label: str
    volet: str
    volet_label: str
    optional: bool
    amount: int | None  # null when not known for this size
    verified: bool
    note: str | None


class AciMission(msgspec.Struct, kw_only=True):
    """Annual maximum of one mission under the base schedule."""

    mission: str
    label: str
    optional: bool
    total: int
    lines: list[AciLine]


class Aci(msgspec.Struct, kw_only=True):
    """CPTS size band from the INSEE population and the financing envelope in force."""

    population: int
    size: Literal[1, 2, 3, 4] | None  # null: « non déterminée » (a commune without INSEE population)
    size_label: str
    thresholds: list[int]
    near_threshold: bool
    warning: str | None
    schedule: str  # base schedule the missions come from
    missions: list[AciMission]
    total: int | None  # maximum annual total of the base schedule; null when the size is not determined
    amendments: list[AciLine]  # later dated rows (avenants), with their verification flag


# Responses --------------------------------------------------------------------------------------------------


class Diagnosis(msgspec.Struct, kw_only=True):
    """`POST /v1/diagnosis`: the whole territorial diagnosis, masked."""

    data_version: str
    demo: bool  # at least one source is demonstration data: say "données de démonstration"
    sources: list[Source]
    secrecy_rules: list[SecrecyRule]
    territory: Territory
    communes: list[Commune]
    alerts: list[Alert]
    population: PopulationSection
    access: list[Indicator]
    prevalences: Prevalences
    prevention: list[Indicator]
    vaccination: list[Indicator]
    offer: Offer
    aci: Aci


class FamilyCount(msgspec.Struct, kw_only=True):
    """Professionals of one family of the summary bar."""

    key: str
    label: str
    n: int


class Summary(msgspec.Struct, kw_only=True):
    """`POST /v1/summary`: the header-bar figures, cheap enough for every selection change."""

    data_version: str
    demo: bool
    commune_count: int
    population: int
    population_partial: bool
    professionals: int
    families: list[FamilyCount]
    structures: int


# Requests --------------------------------------------------------------------------------------------------


class ReportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/report.pdf`: the selection, an optional project name, ALD asked for, report date."""

    communes: list[str]
    name: str | None = None
    ald: list[str] = []
    date: str | None = None  # ISO date printed on the report; today (Europe/Paris) when absent


class ExportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/export.csv`: the selection."""

    communes: list[str]


class ProjectRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/project`: the selection to save and its name."""

    communes: list[str]
    name: str | None = None
    date: str | None = None


class ProjectIssue(msgspec.Struct, kw_only=True):
    """A code of the file that is not restored as such, with the name the file gave it."""

    code: str
    nom: str | None  # name stored in the file
    reason: str  # "unknown" | "merged" | "not_selectable" | "duplicate"
    message: str  # French, ready to show
    replaced_by: list[str] = []  # PLM arrondissements of a city code, or the commune a merged code joined


class ProjectRenamed(msgspec.Struct, kw_only=True):
    """A restored code whose current name differs from the one stored in the file."""

    code: str
    nom_fichier: str
    nom: str


class ProjectSelection(msgspec.Struct, kw_only=True):
    """`POST /v1/project/import`: the selection restored from a project file."""

    format: str  # "projet" (project file) or "csv" (a CSV export, restorable too)
    format_version: int
    name: str | None
    created_on: str | None
    data_version: str | None  # data version the project was saved with
    current_data_version: str
    outdated: bool  # saved with another data version
    communes: list[str]  # restorable codes, in file order
    issues: list[ProjectIssue]
    renamed: list[ProjectRenamed]


# Encoders and decoders, built once ----------------------------------------------------------------------

ENCODER = msgspec.json.Encoder()
DIAGNOSIS_REQUEST = msgspec.json.Decoder(DiagnosisRequest)
SUMMARY_REQUEST = msgspec.json.Decoder(SummaryRequest)
DIAGNOSIS = msgspec.json.Decoder(Diagnosis)
SUMMARY = msgspec.json.Decoder(Summary)
PROJECT_SELECTION = msgspec.json.Decoder(ProjectSelection)
