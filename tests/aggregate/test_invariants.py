"""Reconciliation invariants on many selections: CPTS perimeters and random contiguous sets of 2–100 communes.

These are the checks that would have caught the seed report's defects (nurses counted twice, neutralised
counts that do not match the per-commune table, totals that are not the sum of their rows).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from bench.aggregate.selections import contiguous, cpts_perimeters

from .helpers import indicator_index, masked_violations, post, r1, sql


@pytest.fixture(scope="module")
def selections(database_url: str) -> list[list[str]]:
    async def draw() -> list[list[str]]:
        conn = await asyncpg.connect(database_url)
        try:
            return (await cpts_perimeters(conn, limit=4)) + await contiguous(conn, 8, (2, 100), seed=20241231)
        finally:
            await conn.close()

    return asyncio.run(draw())


def test_indicators_match_the_oracle(agg_url: str, selections: list[list[str]], oracle) -> None:
    for codes in selections:
        _, doc, _ = post(
            agg_url, "/v1/diagnosis", {"communes": codes, "ald": [f"ald_{n:02d}" for n in (1, 8, 30)]}
        )
        assert masked_violations(doc) == []
        cells = oracle.cells(codes)
        for ind_id, item in indicator_index(doc).items():
            want = oracle.indicator(codes, cells.get(ind_id, {}))
            # Territory numerator = sum of the numerators of the communes that count, and so on.
            assert (item["masked"], item["value"], item["numerator"], item["denominator"]) == (
                want["masked"],
                want["value"],
                want["numerator"],
                want["denominator"],
            ), ind_id
            assert set(item["neutralised_communes"]) == want["neutralised"]
            assert item["neutralised_rate"] == want["rate"]
            assert item["partial"] == (not want["masked"] and bool(want["neutralised"]))


def test_activity_and_offer_reconcile(agg_url: str, selections: list[list[str]], database_url: str) -> None:
    for codes in selections:
        _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": codes})
        raw = {
            (r["commune_code"], r["profession"]): r
            for r in sql(
                database_url, "SELECT * FROM stats.commune_activity_kept WHERE commune_code = ANY($1)", codes
            )
        }
        for act in doc["offer"]["activity"]:
            cells = act["communes"]
            assert [c["code"] for c in cells] == [c["code"] for c in doc["communes"]]
            for c in cells:  # one row per commune: never counted twice
                row = raw.get((c["code"], act["profession"]))
                assert c["n_ps"] == (row["n_ps"] if row else 0)
                # Counted: at least 5 professionals, 11 patients and 11 of each act (rule 4, per commune).
                assert c["counted"] == (row["counted"] if row else False)
                assert not c["counted"] or c["n_ps"] >= 5
            assert act["n_ps_total"] == sum(c["n_ps"] for c in cells)
            assert act["n_ps_neutralised"] == sum(c["n_ps"] for c in cells if not c["counted"])
            assert act["n_ps_counted"] + act["n_ps_neutralised"] == act["n_ps_total"]
            assert act["neutralised_communes"] == [c["code"] for c in cells if not c["counted"] and c["n_ps"]]
            assert act["inactive_communes"] == [c["code"] for c in cells if c["n_ps"] == 0]
            counted = [c["code"] for c in cells if c["counted"]]
            if counted:
                patients = sum(raw[(c, act["profession"])]["patients"] for c in counted)
                assert act["patients_per_ps"]["value"] == r1(Decimal(patients) / act["n_ps_counted"])
            else:
                # Secret when professionals exist but no commune counts; sans objet with no professional.
                fig = act["patients_per_ps"]
                assert fig["value"] is None and fig["masked"] == (act["n_ps_total"] > 0)
                assert fig["status"] == ("secret" if act["n_ps_total"] > 0 else "sans_objet")
        demo = {
            r["category"]: r["n"]
            for r in sql(
                database_url,
                "SELECT category, sum(n)::int AS n FROM stats.commune_demography "
                "WHERE commune_code = ANY($1) GROUP BY category",
                codes,
            )
        }
        for row in doc["offer"]["demography"]:
            assert row["n"] == demo.get(row["category"], 0)
        for group in doc["offer"]["structures"] + doc["offer"]["centres_de_sante"]:
            assert group["total"] == sum(c["n"] for c in group["communes"])
        t = doc["territory"]
        assert t["commune_count"] == len(codes) == len(doc["communes"])
        assert t["population"] == sum(c["population"] or 0 for c in doc["communes"])
        assert t["zonage_count"] == sum(c["zonage"] is not None for c in doc["communes"])
