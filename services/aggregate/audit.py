"""An attacker's audit of published diagnoses: what can be proven about each hidden per-commune cell.

Input: the published answers of a batch of selections (the JSON the public API returns). Every published
figure is written as a linear equation or interval over unknown per-commune cells (age bands, indicator
numerators and denominators, professionals' ages, patients and acts); each rounded figure is the interval its
rounding allows (a ratio N/D rounded to v is (v - 0.05)·D ≤ N ≤ (v + 0.05)·D, linear in the cells); references
are the documented sums over a unit's cells (``reference_model`` 'kept', as the engine documents since V0100,
or 'all', the earlier engine). Cells are ≥ 0, tied by the public definitions (indicator links of V0100, a
numerator within its denominator, 65+ within 60+ within all professionals); integrality is relaxed. For each
hidden cell the auditor minimises and maximises it by linear programming (HiGHS). A cell is *exposed* when the
interval is narrower than what the rule alone tells (10 for people, 4 for professionals, or the public count
of professionals when smaller) or holds a single integer. Comparators are checked to be functions of the
published rounded numbers (weights and unit values); one that is not carries finer information and is reported
too.

Model notes (docs/methodology.md §5): the variables of the age bands are shared by every block; each indicator
(or group of nested indicators), each profession and each category of professionals is its own block with all
the age-band constraints, so the LP is exact except for links that go through two different indicators'
numerators.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from .audit_model import BANDS as BANDS
from .audit_model import CONTAINS as CONTAINS
from .audit_model import NUM_PARENTS as NUM_PARENTS
from .audit_model import Exposure as Exposure
from .audit_model import Key, Row, _Model
from .audit_model import Report as Report
from .audit_model import frame as frame
from .audit_model import r1 as r1
from .audit_model import within as within


def _components(rows: list[Row]) -> dict[Key, int]:
    parent: dict[Key, Key] = {}

    def find(x: Key) -> Key:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        keys = list(row.coeffs)
        for k in keys[1:]:
            a, b = find(keys[0]), find(k)
            if a != b:
                parent[a] = b
        if keys:
            find(keys[0])
    roots: dict[Key, int] = {}
    return {k: roots.setdefault(find(k), len(roots)) for k in list(parent)}


class _Component:
    """The rows of one connected set of cells, as sparse matrices built once for all its LPs."""

    def __init__(self, rows: list[Row]) -> None:
        self.index: dict[Key, int] = {}
        for row in rows:
            for k in row.coeffs:
                self.index.setdefault(k, len(self.index))
        data: list[float] = []
        ri: list[int] = []
        ci: list[int] = []
        eq_data: list[float] = []
        eq_ri: list[int] = []
        eq_ci: list[int] = []
        self.b_ub: list[float] = []
        self.b_eq: list[float] = []
        self.queries: set[int] = set()
        for row in rows:
            self.queries |= row.queries
            if row.lo == row.hi:
                r = len(self.b_eq)
                for k, v in row.coeffs.items():
                    eq_data.append(v)
                    eq_ri.append(r)
                    eq_ci.append(self.index[k])
                self.b_eq.append(row.lo)
                continue
            for sign, bound in ((1.0, row.hi), (-1.0, -row.lo)):
                if math.isfinite(bound):
                    r = len(self.b_ub)
                    for k, v in row.coeffs.items():
                        data.append(sign * v)
                        ri.append(r)
                        ci.append(self.index[k])
                    self.b_ub.append(bound)
        n = len(self.index)
        self.a_ub = coo_matrix((data, (ri, ci)), shape=(len(self.b_ub), n)).tocsr() if self.b_ub else None
        self.a_eq = (
            coo_matrix((eq_data, (eq_ri, eq_ci)), shape=(len(self.b_eq), n)).tocsr() if self.b_eq else None
        )

    def spread(self, cells: list[Key]) -> dict[Key, tuple[float, bool]]:
        """Two feasible points, with the cells jointly low and jointly high (every cell capped at 1e7): each
        cell's difference between them is a lower bound on the width of its interval (2 LPs for all cells)."""
        points = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(self.index))
            for cell in cells:
                c[self.index[cell]] = sense
            res = linprog(
                c,
                A_ub=self.a_ub,
                b_ub=self.b_ub or None,
                A_eq=self.a_eq,
                b_eq=self.b_eq or None,
                bounds=(0, 1e7),
                method="highs",
            )
            if res.status != 0:
                return {}
            points.append(res.x)
        return {
            cell: (
                points[1][self.index[cell]] - points[0][self.index[cell]],
                all(abs(p[self.index[cell]] - round(p[self.index[cell]])) < 1e-6 for p in points),
            )
            for cell in cells
        }

    def bounds(self, cell: Key) -> tuple[float, float]:
        """Minimum and maximum of `cell` subject to the rows (every cell ≥ 0), by HiGHS."""
        out = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(self.index))
            c[self.index[cell]] = sense
            res = linprog(
                c,
                A_ub=self.a_ub,
                b_ub=self.b_ub or None,
                A_eq=self.a_eq,
                b_eq=self.b_eq or None,
                bounds=(0, None),
                method="highs",
            )
            if res.status == 3:  # unbounded above
                out.append(math.inf)
            elif res.status != 0:
                raise ValueError(f"LP for {cell}: {res.message}")
            else:
                out.append(sense * res.fun)
        return out[0], out[1]


def audit(
    answers: list[tuple[list[str], dict[str, Any]]],
    *,
    reference_model: str = "kept",
    universe: dict[str, tuple[str, str]] | None = None,
) -> Report:
    """Audit one batch of published answers (selection, diagnosis JSON); see the module docstring."""
    m = _Model(answers, reference_model, universe)
    report = Report(queries=len(answers), finer_comparators=m.finer)
    shared = m.rows.get("bands", [])
    # First pass, on every row at once (the exact joint system): two feasible points, the hidden cells jointly
    # low then jointly high. A cell whose two values are far enough apart is not exposed; only the others get
    # their own minimum and maximum, on their block.
    everything = [row for rows in m.rows.values() for row in rows if row.coeffs]
    joint = _Component(everything)
    present = [c for c in m.hidden if c in joint.index]
    spread = joint.spread(present) if present else {}
    by_block: dict[str, list[Key]] = defaultdict(list)
    for cell, (block, _) in m.hidden.items():
        report.cells += 1
        if cell not in joint.index:
            continue  # in no published figure: [0, ∞)
        limit = m.limit(cell, m.hidden[cell][1])
        gap, whole = spread.get(cell, (0.0, False))
        # Two integral points `limit` apart, or any two points at least 2 apart, leave at least two integers.
        if gap >= max(limit, 2.0) - 1e-6 or (gap >= limit - 1e-6 and whole):
            if gap < report.narrowest:
                report.narrowest, report.narrowest_cell = gap, cell
            continue
        by_block[block].append(cell)
    for block, cells in by_block.items():
        rows = m.rows.get(block, []) + (shared if block != "bands" else [])
        comp = _components(rows)
        members: dict[int, list[Row]] = defaultdict(list)
        for row in rows:
            if row.coeffs:
                members[comp[next(iter(row.coeffs))]].append(row)
        built: dict[int, _Component] = {}
        for cell in cells:
            if cell not in comp:
                continue
            if comp[cell] not in built:
                built[comp[cell]] = _Component(members[comp[cell]])
            part = built[comp[cell]]
            low, high = part.bounds(cell)
            limit = m.limit(cell, m.hidden[cell][1])
            count = ("n", cell[1], cell[2])
            if cell[0] in ("n60", "n65") and count in part.index:
                # The rule alone leaves [0, n]: n, the public count of professionals, as far as it is known.
                limit = min(limit, part.bounds(count)[1])
            width = high - low
            if width < report.narrowest:
                report.narrowest, report.narrowest_cell = width, cell
            single = math.isfinite(high) and math.floor(high + 1e-6) == math.ceil(low - 1e-6)
            if width < limit - 1e-6 or single:
                report.exposed.append(Exposure(cell, low, high, limit, sorted(part.queries)))
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m services.aggregate.audit check FILE…` or `… campaign --url URL --database-url DSN`."""
    import argparse
    import asyncio
    import json
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m services.aggregate.audit", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    check = sub.add_parser("check", help="audit saved answers: JSON list of {selection, diagnosis}")
    check.add_argument("files", nargs="+")
    check.add_argument("--reference-model", choices=("kept", "all"), default="kept")
    camp = sub.add_parser("campaign", help="generate batches, ask the API, audit them")
    camp.add_argument("--url", required=True, help="aggregate service (or gateway /api) base URL")
    camp.add_argument("--database-url", required=True, help="reads the public commune geography only")
    camp.add_argument("--batches", type=int, default=2000)
    camp.add_argument("--seed", type=int, default=10)
    camp.add_argument("--areas", type=int, default=150, help="seed communes per zone")
    camp.add_argument("--reference-model", choices=("kept", "all"), default="kept")
    camp.add_argument("--workers", type=int, default=1, help="processes (the machine is shared: 2 at most)")
    args = parser.parse_args(argv)
    if args.cmd == "check":
        exposed = 0
        for name in args.files:
            with open(name, encoding="utf-8") as f:
                batch = [(a["selection"], a["diagnosis"]) for a in json.load(f)]
            report = audit(batch, reference_model=args.reference_model)
            exposed += len(report.exposed) + len(report.finer_comparators)
            print(
                f"{name}: {report.queries} requêtes, {report.cells} cellules masquées, "
                f"{len(report.exposed)} exposées, intervalle le plus étroit {report.narrowest:.2f}"
            )
            for e in report.exposed:
                print("  exposée :", e.describe([s for s, _ in batch]))
            for line in report.finer_comparators:
                print("  comparateur plus fin que publié :", line)
        return 1 if exposed else 0
    from .audit_campaign import Geography, campaign, post_diagnosis

    geo = asyncio.run(Geography.load(args.database_url, args.areas, args.seed))
    probe = post_diagnosis(args.url, [next(iter(geo.neighbours))], [])
    ald = [i["id"] for i in probe["prevalences"]["catalogue"]]
    result = campaign(args.url, geo, args.batches, args.seed, ald, args.reference_model, True, args.workers)
    print(result.line())
    for line in result.exposed[:50] + result.finer_comparators[:20]:
        print("  ", line)
    sys.stdout.flush()
    return 1 if result.exposed or result.finer_comparators else 0


if __name__ == "__main__":
    raise SystemExit(main())
