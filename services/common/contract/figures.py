"""The pieces every figure of the diagnosis shares: status, unit, comparisons, indicators, alerts, sources."""

from __future__ import annotations

from typing import Literal

import msgspec

Level = Literal["departement", "region", "france"]
Unit = Literal["pct", "per100", "ratio"]
# Why a figure is or is not printed: "publie" (value given), "secret" (a value exists and is hidden by a
# secrecy rule), "sans_objet" (a public zero: no professional, nobody living there; printed "–" with the
# reason).
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
