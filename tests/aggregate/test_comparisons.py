"""Comparators: France unweighted; département and région weighted by the territory's own denominator.

References are sums over kept cells (stats.reference_indicators_kept); a weighted comparator is a function of
the published rounded weights and unit values only (docs/methodology.md §3)."""

from __future__ import annotations

from decimal import Decimal

from .conftest import SEED_SIX
from .helpers import indicator_index, post, r1, r3, sql


def _reference(database_url: str, indicator: str, level: str) -> dict[str, Decimal]:
    rows = sql(
        database_url,
        """SELECT unit_code, numerator, denominator FROM stats.reference_indicators_kept
                                WHERE indicator_id = $1 AND level = $2""",
        indicator,
        level,
    )
    return {r["unit_code"]: Decimal(100) * r["numerator"] / r["denominator"] for r in rows}


def test_weighted_comparison_on_multi_departement_selection(agg_url: str, database_url: str, oracle) -> None:
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": SEED_SIX})
    units = {c["code"]: (c["departement"], c["region"]) for c in doc["communes"]}
    cells = oracle.cells(SEED_SIX)
    checked = 0
    for ind_id, item in indicator_index(doc).items():
        expected = oracle.indicator(SEED_SIX, cells.get(ind_id, {}))
        if expected["masked"]:
            continue
        for level, pos in (("departement", 0), ("region", 1)):
            ref = _reference(database_url, ind_id, level)
            weights: dict[str, Decimal] = {}
            for code, den in expected["by_unit_den"].items():
                weights[units[code][pos]] = weights.get(units[code][pos], Decimal(0)) + den
            for code in units:
                weights.setdefault(units[code][pos], Decimal(0))
            total = sum(weights.values())
            # From the published numbers only: weights rounded to 3 decimals, unit values to 1 decimal.
            shares = {u: Decimal(str(r3(w / total))) for u, w in weights.items()}
            want = r1(sum(x * Decimal(str(r1(ref[u]))) for u, x in shares.items()) / sum(shares.values()))
            got = item["comparisons"][level]
            assert got["weighted"] is True
            assert got["value"] == want, (ind_id, level)
            assert got["difference"] == r1(Decimal(str(item["value"])) - Decimal(str(want)))
            assert {w["code"]: w["weight"] for w in got["weights"]} == {
                u: r3(w / total) for u, w in weights.items()
            }
            assert {w["code"]: w["value"] for w in got["weights"]} == {u: r1(ref[u]) for u in weights}
        france = item["comparisons"]["france"]
        assert france["weighted"] is False and france["value"] == r1(
            _reference(database_url, ind_id, "france")["FR"]
        )
        checked += 1
    assert checked >= 10


def test_single_departement_is_not_weighted(agg_url: str, database_url: str) -> None:
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": ["04028", "04084", "04121"]})
    item = indicator_index(doc)["mt_17_sans"]
    dep = item["comparisons"]["departement"]
    assert dep["weighted"] is False and [w["code"] for w in dep["weights"]] == ["04"]
    assert dep["value"] == r1(_reference(database_url, "mt_17_sans", "departement")["04"])


def test_masked_territory_weights_by_population(agg_url: str, database_url: str) -> None:
    # Two communes under 50 consumers in two départements: no published denominator, INSEE population instead.
    rows = sql(
        database_url,
        """
        SELECT DISTINCT ON (departement_code) commune_code, departement_code, population
        FROM stats.commune_profile WHERE consumers < 50 AND population > 0
        ORDER BY departement_code, commune_code LIMIT 2""",
    )
    codes = [r["commune_code"] for r in rows]
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": codes})
    item = indicator_index(doc)["mt_17_sans"]
    assert item["masked"] is True
    dep = item["comparisons"]["departement"]
    total = sum(r["population"] for r in rows)
    assert {w["code"]: w["weight"] for w in dep["weights"]} == {
        r["departement_code"]: r3(Decimal(r["population"]) / total) for r in rows
    }
    assert dep["value"] is not None and dep["difference"] is None
