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
    """Expected published indicator figures, recomputed in Python from the unmasked views."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def cells(self, codes: list[str]) -> dict[str, dict[str, asyncpg.Record]]:
        """stats.commune_indicators rows of the selection: indicator -> commune -> row."""
        rows = sql(
            self.dsn,
            """SELECT indicator_id, commune_code, numerator, denominator, consumers
                                FROM stats.commune_indicators WHERE commune_code = ANY($1)""",
            codes,
        )
        out: dict[str, dict[str, asyncpg.Record]] = {}
        for r in rows:
            out.setdefault(r["indicator_id"], {})[r["commune_code"]] = r
        return out

    @staticmethod
    def kept(row: asyncpg.Record | None) -> bool:
        """Rules 1 and 2 for one commune and indicator."""
        return (
            row is not None and row["consumers"] >= 50 and row["numerator"] >= 11 and row["denominator"] >= 11
        )

    def indicator(self, codes: list[str], cells: dict[str, asyncpg.Record]) -> dict:
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
