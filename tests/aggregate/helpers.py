"""Test helpers: a small synchronous HTTP client, admin SQL, a JSON walker and an independent oracle.

The oracle recomputes published figures from the raw `stats` views (read as the superuser, which the service
cannot do) with the rules of docs/methodology.md written again in Python, so that the SQL engine is checked
against a second implementation rather than against itself.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg


def post(base: str, path: str, body: Any, raw: bytes | None = None) -> tuple[int, dict, dict]:
    """POST JSON; returns (status, parsed body, headers)."""
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def sql(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query as the admin (test-side only: reads unmasked data for the oracle)."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def r1(x: Decimal | float | int) -> float:
    """Round half away from zero to 1 decimal, as PostgreSQL's numeric round()."""
    return float(Decimal(str(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def r3(x: Decimal | float | int) -> float:
    """Round half away from zero to 3 decimals (comparison weights)."""
    return float(Decimal(str(x)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, dict]]:
    """Every JSON object of a document with its path."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def masked_violations(doc: dict) -> list[str]:
    """Paths where a masked figure is carried as a number (the defect this engine exists to prevent)."""
    bad = []
    for path, obj in walk(doc):
        if obj.get("masked") is True:
            for key in ("value", "numerator", "denominator", "count", "share"):
                if obj.get(key) is not None:
                    bad.append(f"{path}.{key}={obj[key]!r}")
            if not obj.get("reason"):
                bad.append(f"{path}.reason missing")
        if obj.get("ages_masked") is True:
            for key in ("n_60plus", "n_65plus"):
                if obj.get(key) is not None:
                    bad.append(f"{path}.{key}={obj[key]!r}")
    return bad


def indicator_index(doc: dict) -> dict[str, dict]:
    """Every Indicator object of a diagnosis by id (prevalences: top 5 and requested)."""
    out: dict[str, dict] = {}
    for item in (
        doc["population"]["indicators"]
        + doc["access"]
        + doc["prevention"]
        + doc["vaccination"]
        + doc["prevalences"]["top5"]
        + doc["prevalences"]["requested"]
    ):
        out[item["id"]] = item
    return out


class Oracle:
    """Expected published indicator figures, recomputed in Python from the unmasked views.

    The per-commune rule of docs/methodology.md §2.2 is written again here from the raw cells: at least 50
    consumers; numerator, denominator and complement at least 11; a denominator equal to a sum of age bands
    only
    next to published bands; a sub-population at least 11 away from its published bands; a nested numerator at
    least 11 away from its published parent. The links come from the auditor's copy, checked against
    api.indicator_links by test_audit.py.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.units = {r["id"]: r["unit"] for r in sql(dsn, "SELECT id, unit FROM ref.indicators")}

    def cells(self, codes: list[str]) -> dict[str, dict[str, dict]]:
        """Indicator cells of the selection with the oracle's keep decision: indicator -> commune -> row."""
        from services.aggregate import audit

        rows = sql(
            self.dsn,
            """SELECT indicator_id, commune_code, numerator, denominator, consumers
                                FROM stats.commune_indicators WHERE commune_code = ANY($1)""",
            codes,
        )
        bands: dict[str, dict[str, int]] = {}
        for r in sql(self.dsn, "SELECT * FROM stats.commune_age_bands WHERE commune_code = ANY($1)", codes):
            bands.setdefault(r["commune_code"], {})[r["age_band"]] = r["n"]
        by: dict[str, dict[str, dict]] = {}
        for r in rows:
            by.setdefault(r["commune_code"], {})[r["indicator_id"]] = dict(r)
        out: dict[str, dict[str, dict]] = {}
        for code, cells in by.items():
            b = bands.get(code, {})
            consumers = sum(b.values())
            bands_kept = consumers >= 50 and len(b) == 5 and min(b.values()) >= 11

            def ok1(i: str, c: dict, b: dict[str, int] = b, bands_kept: bool = bands_kept) -> bool:
                own = c["consumers"] >= 50 and c["numerator"] >= 11 and c["denominator"] >= 11
                if self.units[i] == "pct":
                    own = own and c["denominator"] - c["numerator"] >= 11
                if audit.frame(i) is not None:
                    own = own and bands_kept
                w, k = audit.within(i), audit.CONTAINS.get(i)
                if bands_kept and w:
                    own = own and sum(b[x] for x in w) - c["denominator"] >= 11
                if bands_kept and k:
                    own = own and c["denominator"] - sum(b[x] for x in k) >= 11
                return own

            first = {i: ok1(i, c) for i, c in cells.items()}
            for i, c in cells.items():
                clash = any(
                    first.get(p, False) and cells[p]["numerator"] - c["numerator"] < 11
                    for p in audit.NUM_PARENTS.get(i, ())
                )
                out.setdefault(i, {})[code] = {**c, "kept": first[i] and not clash}
        return out

    @staticmethod
    def kept(row: dict | None) -> bool:
        """Rules 1 and 2 (per commune, with complements and linked differences) for one cell."""
        return row is not None and row["kept"]

    def indicator(self, codes: list[str], cells: dict[str, dict]) -> dict:
        """Expected value, sums, neutralised set and rate of one indicator."""
        kept = [c for c in codes if self.kept(cells.get(c))]
        num = sum(cells[c]["numerator"] for c in kept)
        den = sum(cells[c]["denominator"] for c in kept)
        masked = num < 11 or den < 11
        neut = {c for c in codes if c not in kept}
        return {
            "masked": masked,
            "numerator": None if masked else num,
            "denominator": None if masked else den,
            "value": None if masked else r1(Decimal(100) * num / den),
            "neutralised": neut,
            "rate": r1(Decimal(100) * len(neut) / len(codes)),
            "by_unit_den": {c: cells[c]["denominator"] for c in kept},
        }
