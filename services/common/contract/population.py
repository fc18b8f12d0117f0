"""Population: age structure of consumers, ALD and C2S shares, prevalences."""

from __future__ import annotations

from typing import Literal

import msgspec

from services.common.contract.figures import Comparisons, Indicator, IndicatorRef, Status


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
