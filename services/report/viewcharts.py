"""Data of the report's pictures: dot charts of the territory against its references, density bars.

Only published values are placed: a masked or « sans objet » value has no dot (the table beside says why).
Each row of a dot chart has its own axis, a little wider than its values, so that a difference of one
point is visible; the axis bounds are printed at both ends and the difference to France is written out.
"""

from __future__ import annotations

import math

import msgspec

from services.common.contract import DemographyRow, Indicator

from . import fmt
from .viewcommon import safe, status


class Dot(msgspec.Struct, kw_only=True):
    """One value on a row's axis, as a fraction of its width (0..1)."""

    key: str  # "ter" | "dep" | "reg" | "fr"
    x: float
    text: str


class DotRow(msgspec.Struct, kw_only=True):
    """An indicator on its own axis: the dots, the bounds and the territory's difference to France."""

    label: str
    dots: list[Dot]
    low: str
    high: str
    gap: str  # « +1,4 pt vs France », or « – »


class Bar(msgspec.Struct, kw_only=True):
    """Professionals of a category per 10 000 inhabitants of the territory."""

    label: str
    value: float
    text: str
    x: float  # fraction of the longest bar


def _axis(values: list[float], unit: str) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = max(2.0, (hi - lo) * 0.15)
    step = 5.0 if unit == "pct" or hi > 20 else 1.0
    lo = max(0.0, math.floor((lo - pad) / step) * step)
    hi = math.ceil((hi + pad) / step) * step
    if unit == "pct":
        hi = min(100.0, hi)
    return lo, hi if hi > lo else lo + step


def dots(items: list[Indicator]) -> list[DotRow]:
    """One row per indicator whose territory value is published."""
    out = []
    for ind in items:
        if status(ind) != "ok" or ind.value is None:
            continue
        c = ind.comparisons
        pairs = [("ter", ind.value)] + [
            (k, x.value) for k, x in (("dep", c.departement), ("reg", c.region), ("fr", c.france))
        ]
        known = [(k, v) for k, v in pairs if v is not None]
        lo, hi = _axis([v for _, v in known], ind.unit)
        gap = c.france.difference
        out.append(
            DotRow(
                label=safe(ind.label),
                dots=[Dot(key=k, x=(v - lo) / (hi - lo), text=fmt.rate(v, ind.unit)) for k, v in known],
                low=fmt.rate(lo, ind.unit).replace(",0", ""),
                high=fmt.rate(hi, ind.unit).replace(",0", ""),
                gap=(f"{fmt.difference(gap)} pt vs France" if gap is not None else "–"),
            )
        )
    return out


def densities(rows: list[DemographyRow], population: int) -> list[Bar]:
    """Professionals (not businesses, not « dont » rows) per 10 000 inhabitants of the territory.

    The counts are the published demography of the diagnosis, the population the INSEE one: a ratio of two
    public figures, not a new health figure."""
    if population <= 0:
        return []
    picked = [(r.label, 10_000 * r.n / population) for r in rows if not r.is_business and r.parent is None]
    top = max((v for _, v in picked), default=0.0)
    if top <= 0:
        return []  # no professional at all: the demography table says so, a chart of zeros would not
    return [
        Bar(label=safe(label), value=v, text=fmt.decimal(v), x=(v / top if top > 0 else 0.0))
        for label, v in picked
    ]
