"""The attacker's model of the published answers: cells, the rows each figure writes, and the hidden cells.

Used by services/aggregate/audit.py, which solves the linear programmes; links mirror api.indicator_links.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

BANDS = ("0-17", "18-39", "40-64", "65-79", "80+")
PEOPLE, PROFESSIONALS = 10.0, 4.0
HALF = 0.05  # half of the last published decimal of rates, shares and ratios

# Mirror of api.indicator_links (V0100); tests/aggregate/test_audit.py checks that they agree.
_FRAME_17 = {"pop_ald", "pop_c2s", "mt_17_sans", "mt_17_sans_ald", "mt_17_sans_c2s", "urgences"}
_FRAME_65 = {"polymedication", "grippe_65"}
_WITHIN = {
    **dict.fromkeys(
        ("admissions_directes", "bzd_anxiolytique", "bzd_hypnotique", "antibioresistance"), BANDS
    ),
    **dict.fromkeys(("mt_70_sans", "psychotropes"), ("65-79", "80+")),
    **dict.fromkeys(
        ("antibio_moins_4", "antibio_4_16", "bucco_dentaire", "ror", "meningocoque_c"), ("0-17",)
    ),
    **dict.fromkeys(("depistage_sein", "depistage_colorectal"), ("40-64", "65-79")),
    **dict.fromkeys(("depistage_col", "grippe_risque"), ("18-39", "40-64")),
}
CONTAINS = {"mt_70_sans": ("80+",)}
NUM_PARENTS = {"mt_17_sans_ald": ("mt_17_sans", "pop_ald"), "mt_17_sans_c2s": ("mt_17_sans", "pop_c2s")}


def frame(indicator: str) -> tuple[str, ...] | None:
    """The age bands whose sum the denominator is, or None when it is a population of its own."""
    if indicator.startswith("ald_"):
        return BANDS
    if indicator in _FRAME_17:
        return BANDS[1:]
    if indicator in _FRAME_65:
        return ("65-79", "80+")
    return None


def within(indicator: str) -> tuple[str, ...] | None:
    """The age bands whose sum contains the denominator (own populations only)."""
    return _WITHIN.get(indicator)


def _block_of(indicator: str) -> str:
    nested = {"pop_ald", "pop_c2s", "mt_17_sans", "mt_17_sans_ald", "mt_17_sans_c2s"}
    return "ind:mt17" if indicator in nested else f"ind:{indicator}"


def r1(x: float) -> float:
    """Round half away from zero to 1 decimal, as PostgreSQL's round(numeric, 1)."""
    return float(Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


Key = tuple[str, ...]


@dataclass
class Row:
    """One published figure (or public definition) as lo ≤ Σ coeffs·cells ≤ hi, with the queries behind it."""

    coeffs: dict[Key, float]
    lo: float
    hi: float
    queries: frozenset[int]


@dataclass
class Exposure:
    """A hidden cell whose provable interval is tighter than the rule alone tells."""

    cell: Key
    low: float
    high: float
    limit: float
    queries: list[int]

    def describe(self, selections: list[list[str]]) -> str:
        """The cell, its interval and the (first) queries that expose it, in French."""
        used = "; ".join("{" + ",".join(selections[q]) + "}" for q in self.queries[:6])
        return (
            f"{'/'.join(self.cell)} ∈ [{self.low:.3f}, {self.high:.3f}] (largeur < {self.limit:g}) par {used}"
        )


@dataclass
class Report:
    """What the audit of one batch found."""

    queries: int
    cells: int = 0
    exposed: list[Exposure] = field(default_factory=list)
    finer_comparators: list[str] = field(default_factory=list)
    narrowest: float = math.inf  # narrowest interval width among hidden cells (inf: none bounded)
    narrowest_cell: Key | None = None


class _Model:
    """Rows of every block, hidden cells and their thresholds, built from the answers."""

    def __init__(
        self,
        answers: list[tuple[list[str], dict[str, Any]]],
        reference_model: str,
        universe: dict[str, tuple[str, str]] | None,
    ) -> None:
        self.rows: dict[str, list[Row]] = defaultdict(list)
        self.hidden: dict[Key, tuple[str, float]] = {}  # cell -> (block, limit)
        self.finer: list[str] = []
        self.model = reference_model
        self.unit_of: dict[str, dict[str, str]] = {}
        self.kept: dict[tuple[str, str], bool] = {}  # (figure, commune) -> kept, as the answers tell
        self.n_ps: dict[tuple[str, str], int] = {}
        self.n_demo: dict[tuple[str, str], int] = {}
        self.pct: dict[str, bool] = {}
        self.universe = universe
        self.refs: list[tuple[int, str, str, str, float]] = []  # (query, figure kind:key, level, unit, value)
        for q, (codes, doc) in enumerate(answers):
            for c in doc["communes"]:
                self.unit_of[c["code"]] = {"departement": c["departement"], "region": c["region"]}
            self._answer(q, codes, doc)
        self._references()
        self._structure()

    # -- helpers ---------------------------------------------------------------------------------------------
    def add(self, block: str, coeffs: dict[Key, float], lo: float, hi: float, q: Iterable[int]) -> None:
        self.rows[block].append(Row(coeffs, lo, hi, frozenset(q)))

    def hide(self, cell: Key, block: str, limit: float) -> None:
        old = self.hidden.get(cell)
        self.hidden[cell] = (block, min(limit, old[1]) if old else limit)

    def _comparators(self, q: int, kind: str, comps: dict[str, Any] | None) -> None:
        for level in ("departement", "region", "france"):
            comp = (comps or {}).get(level)
            if not comp:
                continue
            ws = comp["weights"]
            for w in ws:
                if w["value"] is not None:
                    self.refs.append((q, kind, level, w["code"], float(w["value"])))
            if comp["value"] is None:
                continue
            if not comp["weighted"] and len(ws) == 1 and ws[0]["value"] is not None:
                if abs(comp["value"] - ws[0]["value"]) > 1e-9:
                    self.finer.append(f"{kind} {level}: {comp['value']} ≠ {ws[0]['value']}")
                continue
            # Exact decimal arithmetic on the published numbers, as the database computes it.
            weights = [Decimal(repr(w["weight"] or 0)) for w in ws]
            total = sum(weights, Decimal(0))
            if total > 0 and all(w["value"] is not None or not w["weight"] for w in ws):
                mean = (
                    sum(
                        (x * Decimal(repr(w["value"] or 0)) for x, w in zip(weights, ws, strict=True)),
                        Decimal(0),
                    )
                    / total
                )
                again = float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
                if abs(again - comp["value"]) > 1e-9:
                    self.finer.append(
                        f"{kind} {level}: publié {comp['value']}, recalculé {again} (requête {q})"
                    )

    # -- one answer ------------------------------------------------------------------------------------------
    def _answer(self, q: int, codes: list[str], doc: dict[str, Any]) -> None:
        sel = [c["code"] for c in doc["communes"]]
        pop = doc["population"]
        age_out = set(pop["age_neutralised_communes"])
        age_in = [c for c in sel if c not in age_out]
        for c in sel:
            self.kept[("age", c)] = self.kept.get(("age", c), True) and c not in age_out
            if c in age_out:
                for b in BANDS:
                    self.hide(("band", c, b), "bands", PEOPLE)
        for band in pop["age_bands"]:
            b = band["band"]
            if band["count"] is not None:
                self.add("bands", {("band", c, b): 1.0 for c in age_in}, band["count"], band["count"], [q])
            elif band.get("status", "secret") == "secret" and len(age_in) == 1:
                # The earlier engine masked a single commune's band at territory level.
                self.hide(("band", age_in[0], b), "bands", PEOPLE)
            self._comparators(q, f"age:{b}", band["comparisons"])
        if pop["age_total"] is not None:
            self.add(
                "bands",
                {("band", c, b): 1.0 for c in age_in for b in BANDS},
                pop["age_total"],
                pop["age_total"],
                [q],
            )
        seen: set[str] = set()
        inds = pop["indicators"] + doc["access"] + doc["prevention"] + doc["vaccination"]
        for item in inds + doc["prevalences"]["top5"] + doc["prevalences"]["requested"]:
            if item["id"] not in seen:
                seen.add(item["id"])
                self._indicator(q, sel, item)
        for row in doc["offer"]["demography"]:
            self._demography(q, sel, row)
        for act in doc["offer"]["activity"]:
            self._activity(q, act)

    def _indicator(self, q: int, sel: list[str], item: dict[str, Any]) -> None:
        i, block = item["id"], _block_of(item["id"])
        out = set(item["neutralised_communes"])
        kept = [c for c in sel if c not in out]
        for c in sel:
            self.kept[(i, c)] = self.kept.get((i, c), True) and c not in out
        self.pct[i] = item["unit"] == "pct"
        for c in out:
            self.hide(("num", c, i), block, PEOPLE)
            if frame(i) is None:
                self.hide(("den", c, i), block, PEOPLE)
        if item["numerator"] is not None:
            self.add(block, {("num", c, i): 1.0 for c in kept}, item["numerator"], item["numerator"], [q])
            den: dict[Key, float] = defaultdict(float)
            for c in kept:
                for k, v in self.den_expr(c, i).items():
                    den[k] += v
            self.add(
                block if frame(i) is None else "bands",
                dict(den),
                item["denominator"],
                item["denominator"],
                [q],
            )
        self._comparators(q, f"ind:{i}", item["comparisons"])

    def den_expr(self, c: str, i: str) -> dict[Key, float]:
        f = frame(i)
        return {("band", c, b): 1.0 for b in f} if f else {("den", c, i): 1.0}

    def _demography(self, q: int, sel: list[str], row: dict[str, Any]) -> None:
        cat = row["category"]
        block = f"demo:{row['parent'] or cat}"
        self.add(block, {("n", c, cat): 1.0 for c in sel}, row["n"], row["n"], [q])
        if len(sel) == 1:
            self.n_demo[(cat, sel[0])] = row["n"]
        if row["is_business"]:
            return
        out = set(row.get("ages_neutralised_communes", []))
        kept = [c for c in sel if c not in out]
        for c in out:
            for k in ("n60", "n65"):
                self.hide((k, c, cat), block, PROFESSIONALS)
        if row["n_60plus"] is not None:
            for k, key in (("n60", "n_60plus"), ("n65", "n_65plus")):
                self.add(block, {(k, c, cat): 1.0 for c in kept}, row[key], row[key], [q])
        elif len(sel) == 1 and row.get("ages_status", "secret") == "secret" and row["n"] > 0:
            for k in ("n60", "n65"):
                self.hide((k, sel[0], cat), block, PROFESSIONALS)

    def _activity(self, q: int, act: dict[str, Any]) -> None:
        p, block = act["profession"], f"act:{act['profession']}"
        counted = [c["code"] for c in act["communes"] if c["counted"]]
        for cell in act["communes"]:
            self.n_ps[(p, cell["code"])] = cell["n_ps"]
            self.kept[(f"act:{p}", cell["code"])] = cell["counted"]
            if not cell["counted"] and cell["n_ps"] > 0:
                self.hide(("pat", cell["code"], p), block, PEOPLE)
                for fig in act["acts"]:
                    self.hide(("act", cell["code"], fig["key"]), block, PEOPLE)
        n = float(act["n_ps_counted"])
        for fig, var in [(act["patients_per_ps"], "pat")] + [(a, "act") for a in act["acts"]]:
            key = p if var == "pat" else fig["key"]
            if fig["value"] is not None and n > 0:
                self.add(
                    block,
                    {(var, c, key): 1.0 for c in counted},
                    (fig["value"] - HALF) * n,
                    (fig["value"] + HALF) * n,
                    [q],
                )
            self._comparators(q, f"{var}:{p}:{key}", fig["comparisons"])

    # -- references ------------------------------------------------------------------------------------------
    def _members(self, level: str, unit: str) -> tuple[list[str], bool]:
        """Seen communes of a unit, and whether they are all of its communes (the public commune list)."""
        if level == "france":
            seen = list(self.unit_of)
        else:
            seen = [c for c, u in self.unit_of.items() if u[level] == unit]
        if self.universe is None or level == "france":
            return seen, False
        return seen, _unit_sizes(self.universe)[(level, unit)] == len(seen)

    def _references(self) -> None:
        asked: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        values: dict[tuple[str, str, str], float] = {}
        for q, kind, level, unit, value in self.refs:
            asked[(kind, level, unit)].append(q)
            values.setdefault((kind, level, unit), value)
        members_of: dict[tuple[str, str], tuple[list[str], bool]] = {}
        for (kind, level, unit), qs in asked.items():
            if (level, unit) not in members_of:
                members_of[(level, unit)] = self._members(level, unit)
            members, complete = members_of[(level, unit)]
            value = values[(kind, level, unit)]
            lo, hi = value - HALF, value + HALF
            tag, fig = kind.split(":", 1)
            num: dict[Key, float] = defaultdict(float)
            den: dict[Key, float] = defaultdict(float)
            if tag == "age":
                use = [c for c in members if self.model == "all" or self.kept.get(("age", c), False)]
                block = "bands"
                for c in use:
                    num[("band", c, fig)] += 1
                    for b in BANDS:
                        den[("band", c, b)] += 1
                if not complete:
                    num[("rest", level, unit, "band", fig)] += 1
                    for b in BANDS:
                        den[("rest", level, unit, "band", b)] += 1
                scale = 100.0
            elif tag == "ind":
                block = _block_of(fig)
                use = [c for c in members if self.model == "all" or self.kept.get((fig, c), False)]
                for c in use:
                    num[("num", c, fig)] += 1
                    for k, v in self.den_expr(c, fig).items():
                        den[k] += v
                if not complete:
                    num[("rest", level, unit, "num", fig)] += 1
                    den[("rest", level, unit, "den", fig)] += 1
                scale = 100.0
            else:
                var, (p, key) = tag, fig.split(":")
                block = f"act:{p}"
                use = [
                    c
                    for c in members
                    if (p, c) in self.n_ps and (self.model == "all" or self.kept.get((f"act:{p}", c), False))
                ]
                if not complete:
                    continue  # unknown professionals elsewhere in the unit: the ratio bounds nothing
                for c in use:
                    num[(var, c, key)] += 1
                scale = 1.0
                nps = float(sum(self.n_ps[(p, c)] for c in use))
                if nps > 0:
                    self.add(block, dict(num), lo * nps, hi * nps, qs)
                continue
            # lo·D ≤ scale·N ≤ hi·D as two homogeneous rows.
            row1 = {k: scale * v for k, v in num.items()}
            for k, v in den.items():
                row1[k] = row1.get(k, 0.0) - lo * v
            row2 = {k: scale * v for k, v in num.items()}
            for k, v in den.items():
                row2[k] = row2.get(k, 0.0) - hi * v
            self.add(block, row1, 0.0, math.inf, qs)
            self.add(block, row2, -math.inf, 0.0, qs)

    # -- public definitions ----------------------------------------------------------------------------------
    def _structure(self) -> None:
        """Per-commune links every attacker knows from the definitions (docs/methodology.md §2)."""
        for block in list(self.rows):
            keys = {k for row in self.rows[block] for k in row.coeffs} | {
                c for c, (b, _) in self.hidden.items() if b == block
            }
            for k in keys:
                kind = k[0]
                if kind == "num" and self.pct.get(k[2], True):
                    den: dict[Key, float] = {("num", k[1], k[2]): 1.0}
                    for d, v in self.den_expr(k[1], k[2]).items():
                        den[d] = den.get(d, 0.0) - v
                    self.add(block, den, -math.inf, 0.0, [])
                    for parent in NUM_PARENTS.get(k[2], ()):
                        self.add(block, {k: 1.0, ("num", k[1], parent): -1.0}, -math.inf, 0.0, [])
                elif kind == "den":
                    for bands, sign in ((within(k[2]), 1.0), (CONTAINS.get(k[2]), -1.0)):
                        if bands:
                            row: dict[Key, float] = {k: sign}
                            row.update({("band", k[1], b): -sign for b in bands})
                            self.add(block, row, -math.inf, 0.0, [])
                elif kind == "n60":
                    self.add(block, {k: 1.0, ("n", k[1], k[2]): -1.0}, -math.inf, 0.0, [])
                    self.add(block, {("n65", k[1], k[2]): 1.0, k: -1.0}, -math.inf, 0.0, [])
                elif kind == "rest" and k[3] == "num" and self.pct.get(k[4], True):
                    self.add(block, {k: 1.0, (*k[:3], "den", k[4]): -1.0}, -math.inf, 0.0, [])
                elif kind == "n" and block.startswith("demo:") and k[2] != block[5:]:
                    # A "dont" row (MEP) is a subset of its parent category.
                    parent = block[5:]
                    self.add(block, {k: 1.0, ("n", k[1], parent): -1.0}, -math.inf, 0.0, [])
                    for a in ("n60", "n65"):
                        self.add(block, {(a, k[1], k[2]): 1.0, (a, k[1], parent): -1.0}, -math.inf, 0.0, [])

    def limit(self, cell: Key, base: float) -> float:
        """What the rule alone leaves open: the threshold, or the public count of professionals if smaller."""
        if cell[0] in ("n60", "n65") and (cell[2], cell[1]) in self.n_demo:
            return min(base, float(self.n_demo[(cell[2], cell[1])]))
        return base


_SIZES: dict[int, dict[tuple[str, str], int]] = {}


def _unit_sizes(universe: dict[str, tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Number of communes of each département and région of the public geography (computed once)."""
    if id(universe) not in _SIZES:
        sizes: dict[tuple[str, str], int] = defaultdict(int)
        for dep, reg in universe.values():
            sizes[("departement", dep)] += 1
            sizes[("region", reg)] += 1
        _SIZES[id(universe)] = dict(sizes)
    return _SIZES[id(universe)]
