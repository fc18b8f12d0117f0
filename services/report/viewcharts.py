"""Data of the report's pictures: dot charts of the territory against its references, density bars.

Only published values are placed: a masked or « sans objet » value has no dot (the table beside says why).
Each row of a dot chart has its own axis, a little wider than its values, so that a difference of one
point is visible; the axis bounds are printed at both ends and the difference to France is written out.
"""

from __future__ import annotations

import math

import msgspec

from services.common.contract import Comparison, Density, Indicator

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
    """Professionals of a category per 10 000 inhabitants: the territory's bar and the references' marks, all
    on one scale shared by the categories (fractions of the widest value)."""

    label: str
    x: float | None  # None: « sans objet » (no inhabitant), no bar
    text: str
    marks: list[Dot]  # "dep" | "reg" | "fr", published references only
    refs: list[str]  # département, région, France as printed (« † » weighted, « – » not published)
    gap: str  # difference to France (« +1,4 », « −0,7 »), or « – »


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


def densities(items: list[Density]) -> list[Bar]:
    """Bars of the territory's densities with the département, région and France densities as marks.

    Published by the diagnosis: counts of professionals (public) over INSEE populations, the references over
    every selectable commune of the unit, weighted like any comparator when the territory spans several."""
    if not any(d.value for d in items):
        return []  # no professional at all: the demography table says so, a chart of zeros would not
    refs = [(d, [(k, getattr(d.comparisons, name).value) for k, name in _LEVELS]) for d in items]
    top = max([d.value or 0.0 for d in items] + [v for _, marks in refs for _, v in marks if v is not None])
    scale = top * 1.05
    return [
        Bar(
            label=safe(d.label),
            x=None if d.value is None else d.value / scale,
            text=fmt.decimal(d.value) if d.value is not None else fmt.NOT_APPLICABLE,
            marks=[Dot(key=k, x=v / scale, text=fmt.decimal(v)) for k, v in marks if v is not None],
            refs=[_ref(getattr(d.comparisons, name)) for _, name in _LEVELS],
            gap=fmt.difference(d.comparisons.france.difference),
        )
        for d, marks in refs
    ]


_LEVELS = (("dep", "departement"), ("reg", "region"), ("fr", "france"))


def _ref(c: Comparison) -> str:
    if c.value is None:
        return fmt.NOT_COMPUTABLE
    return fmt.decimal(c.value) + ("\u2020" if c.weighted else "")
