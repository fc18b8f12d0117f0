"""The view handed to Typst: what the report prints, map panels included.

The service's requests and its project-import answer are part of the contract between services
(`services/common/contract/`).

The view is what the template prints, already in French typography: numbers are formatted here (and a masked
value is the words « secret statistique », never a number), so the template only lays text out. It reaches
Typst as one JSON document in `sys_inputs`, never as markup.
"""

from __future__ import annotations

import msgspec

from .viewcharts import Bar, DotRow

# Map ------------------------------------------------------------------------------------------------------


class MapLabel(msgspec.Struct, kw_only=True):
    """A commune label in panel fractions (0..1 from the top-left); `number` when it stands for a name."""

    x: float
    y: float
    text: str
    number: int | None = None


class MapPanel(msgspec.Struct, kw_only=True):
    """A drawn panel handed to Typst: SVG shapes plus the text laid over them."""

    number: int
    departements: list[str]
    row: int  # panels of one row stand side by side (maplayout)
    svg: str
    width_mm: float
    height_mm: float
    labels: list[MapLabel]
    label_pt: float
    key: list[MapLabel]
    scale_frac: float
    scale_label: str


class Overview(msgspec.Struct, kw_only=True):
    """Locator map of a scattered territory: France with the panels' frames."""

    svg: str
    width_mm: float
    height_mm: float
    marks: list[MapLabel]
    row: int


class LegendEntry(msgspec.Struct, kw_only=True):
    """One structure group drawn on the map."""

    key: str
    color: str
    shape: str
    n: int
    n_approximate: int


class MapView(msgspec.Struct, kw_only=True):
    """Everything the template needs for « La carte »."""

    panels: list[MapPanel]
    overview: Overview | None
    legend: list[LegendEntry]
    finess_without_point: int
    finess_approximate: int
    missing_contour: list[str]
    projections: list[str]
    legend_beside: bool  # a lone narrow (tall) panel: the legend goes beside it


# Report view ------------------------------------------------------------


class SourceRow(msgspec.Struct, kw_only=True):
    """One data vintage on the cover."""

    block: str
    label: str
    vintage: str
    demo: bool


class Cover(msgspec.Struct, kw_only=True):
    """Cover page and running header."""

    name: str
    name_short: str
    name_header: str
    name_truncated: bool
    has_name: bool
    date: str
    date_long: str
    commune_count: str
    population: str
    departements: list[str]
    regions: list[str]
    demo: bool
    data_version: str
    sources: list[SourceRow]
    alerts: list[str]
    population_year: str  # « population municipale INSEE, millésime 2021 »


class CommuneRow(msgspec.Struct, kw_only=True, array_like=True):
    """A row of the territory table, encoded as an array: its cells as the template adds them, without a
    Typst function call per row."""

    commune: str  # « Beynes (04028) »
    population: str
    qpv: str
    zonage: str
    cpts: str


class QpvRow(msgspec.Struct, kw_only=True):
    """A quartier prioritaire touching the territory: code, name and the selected communes it touches."""

    code: str
    nom: str
    communes: str


class DepGroup(msgspec.Struct, kw_only=True):
    """The communes of one département."""

    title: str
    population: str
    rows: list[CommuneRow]


class TerritoryView(msgspec.Struct, kw_only=True):
    """The territory table with totals and footnotes."""

    groups: list[DepGroup]
    total_communes: str
    total_population: str
    total_qpv: str
    total_zonage: str
    notes: list[str]
    qpv: list[QpvRow]


class AgeBar(msgspec.Struct, kw_only=True):
    """One age band: territory share and département share (floats for the bars, texts for the labels)."""

    label: str
    share: float | None
    share_text: str
    dep: float | None
    dep_text: str


class AgeView(msgspec.Struct, kw_only=True):
    """Age structure of consumers against the département."""

    available: bool
    bars: list[AgeBar]
    total: str
    comparison_label: str
    notes: list[str]


class IndicatorRow(msgspec.Struct, kw_only=True):
    """One indicator: territory, comparators, differences in points; `mark` refers to a note."""

    label: str
    ter: str
    count: str
    dep: str
    reg: str
    fr: str
    d_dep: str
    d_reg: str
    d_fr: str
    masked: bool
    mark: str


class IndicatorTable(msgspec.Struct, kw_only=True):
    """A table of indicators with its notes (neutralised communes, masking reasons) and sources."""

    title: str
    rows: list[IndicatorRow]
    notes: list[str]
    sources: list[str]
    weighted: bool
    weights: list[str]  # « Dép. † pondéré : Corse-du-Sud 36 %, La Réunion 64 % »
    dots: list[DotRow]


class DemographyLine(msgspec.Struct, kw_only=True):
    """A row of the demography table; `level` 0 is a family heading, 2 a « dont » row."""

    label: str
    n: str
    n60: str
    n65: str
    level: int


class BaseRow(msgspec.Struct, kw_only=True):
    """A population the indicators are computed on (« consommants de 17 ans et plus ») and its count."""

    label: str
    count: str
    masked: bool


class ActivityList(msgspec.Struct, kw_only=True):
    """The communes of one profession that have professionals, each with their number (« Manosque (27) »):
    the counted ones, then the neutralised ones; each list is one string ("" when empty)."""

    label: str
    communes: str  # « 23 communes »
    kept: str
    neutralised: str


class RatioRow(msgspec.Struct, kw_only=True):
    """Patients or acts per professional against the comparators."""

    profession: str
    label: str
    ter: str
    dep: str
    reg: str
    fr: str
    masked: bool


class StructureLine(msgspec.Struct, kw_only=True):
    """Structures of a group « sur le territoire » and « sur les communes »."""

    sector: str
    label: str
    total: str
    communes: str


class OfferView(msgspec.Struct, kw_only=True):
    """Offer of care."""

    demography: list[DemographyLine]
    demography_source: str
    activity: list[ActivityList]  # professions with at least one professional on the territory
    summaries: list[str]
    ratio_notes: list[str]
    patients: list[RatioRow]
    acts: list[RatioRow]
    activity_source: str
    structures: list[StructureLine]
    centres: list[StructureLine]
    structures_source: str
    densities: list[Bar]
    density_weights: list[str]  # « Dép. † pondéré : … » when the territory spans several units


class AciLineView(msgspec.Struct, kw_only=True):
    """One volet of an ACI mission."""

    label: str
    amount: str


class AciMissionView(msgspec.Struct, kw_only=True):
    """One ACI mission and its maximum."""

    label: str
    optional: bool
    total: str
    lines: list[AciLineView]


class AciView(msgspec.Struct, kw_only=True):
    """Size band and financing envelope."""

    population: str
    size: int | str  # "non déterminée" when a commune has no INSEE population
    size_label: str
    thresholds: str
    warning: str | None
    schedule: str
    missions: list[AciMissionView]
    total: str
    reference: str  # the instrument the amounts come from
    amendments: list[str]


class Definition(msgspec.Struct, kw_only=True):
    """An indicator's definition in the methodology."""

    label: str
    definition: str
    ratio: str
    source: str


class Contact(msgspec.Struct, kw_only=True):
    """Contacts of one région involved."""

    region: str
    ars: str
    ars_url: str
    paps_url: str
    paps_verified: bool


class ReportView(msgspec.Struct, kw_only=True):
    """The whole document as the template reads it."""

    cover: Cover
    map: MapView
    map_titles: list[str]
    legend_labels: dict[str, str]
    territory: TerritoryView
    age: AgeView
    population: IndicatorTable
    access: IndicatorTable
    prevalence: list[IndicatorTable]
    prevention: IndicatorTable
    vaccination: IndicatorTable
    bases: list[BaseRow]
    caveats: list[str]
    offer: OfferView
    aci: AciView
    secrecy_rules: list[str]
    definitions: list[Definition]
    contacts: list[Contact]
    national: dict[str, str]
