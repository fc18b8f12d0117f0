"""Tests that attack: batches of real HTTP answers fed to the LP auditor, and one direct test per attack kind.

The five kinds are those of issue 10: (1) age bands by differencing, (2) professionals' ages by differencing,
(3) complementary totals of nested populations, (4) references and comparators, (5) complements. Each of them
recovered hidden values from the engine before V0100; each test below fails on that engine.
"""

from __future__ import annotations

import asyncio
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aggregate import audit
from services.aggregate.audit_campaign import KINDS, Geography, campaign, post_diagnosis, selections

from .conftest import SEED_SIX
from .helpers import indicator_index, sql

ALD = ["ald_01", "ald_08", "ald_15", "ald_23", "ald_30"]


@pytest.fixture(scope="module")
def geo(database_url: str) -> Geography:
    """Public geography and neighbourhoods of 12 seed communes per zone (metropole, Corse, DOM)."""
    return asyncio.run(Geography.load(database_url, 12, seed=7))


def _ask(agg_url: str, queries: list[list[str]], ald: list[str] = ALD) -> list[tuple[list[str], dict]]:
    return [(q, post_diagnosis(agg_url, q, ald)) for q in queries]


def _clean(report: audit.Report, what: str) -> None:
    assert report.cells > 0, f"{what}: no hidden cell audited"
    assert report.exposed == [], [e.cell for e in report.exposed]
    assert report.finer_comparators == []


def test_links_mirror_the_database(database_url: str) -> None:
    rows = sql(database_url, "SELECT * FROM api.indicator_links ORDER BY indicator_id")
    assert len(rows) == len(sql(database_url, "SELECT id FROM ref.indicators"))
    for r in rows:
        i = r["indicator_id"]
        assert tuple(r["frame"] or ()) == (audit.frame(i) or ()), i
        assert tuple(r["within"] or ()) == (audit.within(i) or ()), i
        assert tuple(r["contains"] or ()) == audit.CONTAINS.get(i, ()), i
        assert tuple(r["num_parents"]) == audit.NUM_PARENTS.get(i, ()), i


def test_generated_attack_batches_expose_nothing(agg_url: str, geo: Geography) -> None:
    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.sampled_from(sorted(geo.neighbours)),
        st.sampled_from(KINDS),
        st.integers(2, 6),
        st.integers(0, 2**31),
    )
    def check(code: str, kind: str, k: int, seed: int) -> None:
        area = geo.neighbours[code][:k]
        queries = selections(kind, area, geo, random.Random(seed))
        report = audit.audit(_ask(agg_url, queries), universe=geo.units)
        assert report.exposed == [], [e.describe(queries) for e in report.exposed]
        assert report.finer_comparators == []

    check()


def test_campaign_sample(agg_url: str, geo: Geography) -> None:
    # The documented campaign (python -m services.aggregate.audit campaign) on a small sample.
    result = campaign(agg_url, geo, 8, seed=10, ald=ALD)
    assert result.batches == 8 and result.cells > 100
    assert result.exposed == [] and result.finer_comparators == []
    assert set(result.by_zone) >= {"metropole"}


# Attack 1: age bands by differencing
# -------------------------------------------------------------------------


def test_attack1_age_bands_by_differencing(agg_url: str, database_url: str) -> None:
    rows = sql(
        database_url,
        """
        WITH k AS (
            SELECT a.commune_code, min(a.n) AS smallest, sum(a.n) AS consumers
            FROM stats.commune_age_bands a GROUP BY a.commune_code
        )
        SELECT k.commune_code AS b,
               (SELECT p.commune_code FROM stats.commune_profile p
                WHERE p.departement_code = r.departement_code ORDER BY p.consumers DESC LIMIT 1) AS a
        FROM k JOIN ref.communes r ON r.code = k.commune_code
        WHERE k.consumers >= 50 AND k.smallest < 11 ORDER BY k.commune_code LIMIT 4""",
    )
    assert rows
    for r in rows:
        answers = _ask(agg_url, [[r["a"]], [r["b"]], [r["a"], r["b"]]], [])
        alone, both = answers[0][1]["population"], answers[2][1]["population"]
        assert [x["count"] for x in alone["age_bands"]] == [x["count"] for x in both["age_bands"]]
        _clean(audit.audit(answers), "age bands")


# Attack 2: professionals' ages by differencing
# ---------------------------------------------------------------


def test_attack2_professionals_ages_by_differencing(agg_url: str, database_url: str) -> None:
    rows = sql(
        database_url,
        """
        SELECT d.commune_code AS b,
               (SELECT k.commune_code FROM stats.commune_demography k
                WHERE k.category = 'mg' ORDER BY k.n DESC LIMIT 1) AS a
        FROM stats.commune_demography d
        WHERE d.category = 'mg' AND d.n BETWEEN 1 AND 4 AND d.n_60plus > 0 ORDER BY d.commune_code LIMIT 4""",
    )
    assert rows
    for r in rows:
        answers = _ask(agg_url, [[r["a"]], [r["b"]], [r["a"], r["b"]]], [])
        mg = [next(x for x in doc["offer"]["demography"] if x["category"] == "mg") for _, doc in answers]
        assert mg[1]["ages_masked"] and mg[1]["n_60plus"] is None
        assert (mg[0]["n_60plus"], mg[0]["n_65plus"]) == (mg[2]["n_60plus"], mg[2]["n_65plus"])
        assert mg[2]["ages_neutralised_communes"] == [r["b"]]
        _clean(audit.audit(answers), "ages")


# Attack 3: complementary totals of nested populations
# --------------------------------------------------------


def test_attack3_complementary_totals(agg_url: str, database_url: str) -> None:
    # Communes of at least 50 consumers with fewer than 11 aged 0-17: all consumers minus the 17 and over
    # (two published denominators) would give that band.
    rows = sql(
        database_url,
        """
        SELECT a.commune_code FROM stats.commune_age_bands a JOIN stats.commune_profile k USING (commune_code)
        WHERE a.age_band = '0-17' AND a.n < 11 AND k.consumers >= 50 ORDER BY a.commune_code LIMIT 4""",
    )
    assert rows
    big = sql(database_url, "SELECT commune_code FROM stats.commune_profile ORDER BY consumers DESC LIMIT 1")
    for r in rows:
        c = r["commune_code"]
        answers = _ask(agg_url, [[c], [big[0]["commune_code"]], [c, big[0]["commune_code"]]])
        doc = answers[0][1]
        for item in indicator_index(doc).values():
            if audit.frame(item["id"]) is not None:
                assert item["masked"] and c in item["neutralised_communes"], item["id"]
        _clean(audit.audit(answers), "nested totals")


# Attack 4: references and comparators
# ------------------------------------------------------------------------


def _r1(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_attack4_reference_minus_territory_is_a_sum_of_kept_cells(agg_url: str, database_url: str) -> None:
    # Paris: every arrondissement selected. The département's reference is then the territory itself: a
    # reference computed on all cells would differ by the neutralised ones and give them away.
    codes = [
        r["code"]
        for r in sql(
            database_url, "SELECT code FROM ref.communes WHERE selectable AND departement_code = '75'"
        )
    ]
    assert len(codes) == 20
    doc = post_diagnosis(agg_url, codes, ALD)
    checked = 0
    for item in indicator_index(doc).values():
        if item["value"] is not None:
            assert item["comparisons"]["departement"]["value"] == item["value"], item["id"]
            checked += 1
    for band in doc["population"]["age_bands"]:
        if band["share"] is not None:
            assert band["comparisons"]["departement"]["value"] == band["share"]
    for act in doc["offer"]["activity"]:
        fig = act["patients_per_ps"]
        if fig["value"] is not None:
            assert fig["comparisons"]["departement"]["value"] == fig["value"], act["profession"]
    assert checked >= 10
    leave_one_out = [[c for c in codes if c != x] for x in codes[:3]]
    geo = {
        r["code"]: (r["departement_code"], r["region_code"])
        for r in sql(
            database_url, "SELECT code, departement_code, region_code FROM ref.communes WHERE selectable"
        )
    }
    answers = [(codes, doc)] + _ask(agg_url, leave_one_out + [[x] for x in codes[:3]])
    _clean(audit.audit(answers, universe=geo), "references")


def test_attack4_weighted_comparators_come_from_published_numbers(agg_url: str) -> None:
    # Subsets of a three-département selection move the weights; the comparator must be a function of the
    # published rounded weights and unit values, or bisection on it recovers finer unit values.
    rng = random.Random(4)
    queries = [SEED_SIX] + [rng.sample(SEED_SIX, rng.randint(2, 5)) for _ in range(6)]
    weighted = 0
    for codes, doc in _ask(agg_url, queries):
        for item in indicator_index(doc).values():
            comp = item["comparisons"]["departement"]
            if comp["weighted"] and comp["value"] is not None:
                ws = [(Decimal(str(w["weight"])), Decimal(str(w["value"] or 0))) for w in comp["weights"]]
                total = sum(w for w, _ in ws)
                assert comp["value"] == _r1(sum(w * v for w, v in ws) / total), (codes, item["id"])
                weighted += 1
    assert weighted > 20


# Attack 5: complements
# -----------------------------------------------------------------------------------------


def test_attack5_complements_are_at_least_11(agg_url: str, database_url: str) -> None:
    # Vaccination coverage near 100 %: 11 vaccinated of 17 tells that 6 are not.
    rows = sql(
        database_url,
        """
        SELECT k.commune_code FROM stats.commune_indicators k
        WHERE k.indicator_id IN ('ror', 'meningocoque_c') AND k.consumers >= 50 AND k.numerator >= 11
          AND k.denominator - k.numerator < 11
        ORDER BY k.commune_code LIMIT 5""",
    )
    assert rows
    for r in rows:
        doc = post_diagnosis(agg_url, [r["commune_code"]], [])
        for item in indicator_index(doc).values():
            if item["unit"] == "pct" and item["numerator"] is not None:
                assert item["denominator"] - item["numerator"] >= 11, item["id"]
    bad = sql(
        database_url,
        """SELECT count(*) AS n FROM stats.commune_indicators_kept k JOIN ref.indicators i ON i.id =
        k.indicator_id
           WHERE k.kept AND i.unit = 'pct' AND k.denominator - k.numerator < 11""",
    )[0]["n"]
    assert bad == 0
