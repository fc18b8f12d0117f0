"""Each statistical-secrecy rule on data chosen to trigger it (docs/methodology.md)."""

from __future__ import annotations

from .helpers import indicator_index, masked_violations, post, r1, sql


def _diag(agg_url: str, codes: list[str], ald: list[str] | None = None) -> dict:
    status, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": codes, "ald": ald or []})
    assert status == 200, doc
    assert masked_violations(doc) == []
    return doc


def test_rule1_communes_under_50_consumers_contribute_nothing(
    agg_url: str, small_communes: list[str]
) -> None:
    small = small_communes[0]
    doc = _diag(agg_url, [small])
    for item in indicator_index(doc).values():
        assert item["masked"] is True and item["value"] is None and item["numerator"] is None
        assert item["neutralised_communes"] == [small] and item["neutralised_rate"] == 100.0
        assert "Secret statistique" in item["reason"]
    assert doc["population"]["age_neutralised_communes"] == [small]
    assert doc["population"]["age_total"] is None


def test_rule2_per_indicator_neutralisation(agg_url: str, database_url: str, oracle) -> None:
    # A commune above 50 consumers whose numerator is below 11 for one indicator, next to one that counts.
    row = sql(
        database_url,
        """
        SELECT a.indicator_id, a.commune_code AS small, b.commune_code AS big
        FROM stats.commune_indicators a
        JOIN ref.communes ca ON ca.code = a.commune_code
        JOIN ref.communes cb ON cb.departement_code = ca.departement_code AND cb.code <> ca.code
        JOIN stats.commune_indicators b ON b.indicator_id = a.indicator_id AND b.commune_code = cb.code
        WHERE a.consumers >= 50 AND a.numerator < 11 AND a.indicator_id = 'mt_17_sans_c2s'
          AND b.consumers >= 50 AND b.numerator >= 11 AND b.denominator >= 11
        ORDER BY a.commune_code, b.commune_code LIMIT 1""",
    )[0]
    codes = [row["small"], row["big"]]
    item = indicator_index(_diag(agg_url, codes))[row["indicator_id"]]
    expected = oracle.indicator(codes, oracle.cells(codes)[row["indicator_id"]])
    assert item["partial"] is True and item["masked"] is False
    assert item["neutralised_communes"] == [row["small"]] and item["neutralised_rate"] == 50.0
    assert (item["value"], item["numerator"], item["denominator"]) == (
        expected["value"],
        expected["numerator"],
        expected["denominator"],
    )
    # The published territory value is the big commune's own: the small one contributes nothing.
    alone = indicator_index(_diag(agg_url, [row["big"]]))[row["indicator_id"]]
    assert (alone["value"], alone["numerator"], alone["denominator"]) == (
        item["value"],
        item["numerator"],
        item["denominator"],
    )
    assert alone["partial"] is False and alone["neutralised_communes"] == []


def test_rule3_unpublishable_territory_value_is_null_never_zero(agg_url: str, database_url: str) -> None:
    # Communes above 50 consumers, each below 11 for a rare indicator: the territory value is not published.
    rows = sql(
        database_url,
        """
        SELECT commune_code FROM stats.commune_indicators
        WHERE indicator_id = 'mt_17_sans_c2s' AND consumers >= 50 AND numerator < 11
        ORDER BY commune_code LIMIT 3""",
    )
    codes = [r["commune_code"] for r in rows]
    doc = _diag(agg_url, codes)
    item = indicator_index(doc)["mt_17_sans_c2s"]
    assert item["masked"] is True and item["value"] is None
    assert item["numerator"] is None and item["denominator"] is None and item["partial"] is False
    assert item["reason"].startswith("Secret statistique")
    # Comparators are still shown, but no difference can be computed from a masked value.
    assert all(item["comparisons"][lvl]["difference"] is None for lvl in ("departement", "region", "france"))


def test_rule4_activity_only_counts_communes_with_5_professionals(agg_url: str, database_url: str) -> None:
    small = [
        r["commune_code"]
        for r in sql(
            database_url,
            """
        SELECT commune_code FROM stats.commune_activity WHERE profession = 'mg' AND n_ps BETWEEN 1 AND 4
        ORDER BY commune_code LIMIT 2""",
        )
    ]
    big = [
        r["commune_code"]
        for r in sql(
            database_url,
            """
        SELECT commune_code FROM stats.commune_activity WHERE profession = 'mg' AND n_ps >= 5
        ORDER BY commune_code LIMIT 1""",
        )
    ]
    codes = small + big
    doc = _diag(agg_url, codes)
    mg = next(a for a in doc["offer"]["activity"] if a["profession"] == "mg")
    under5 = [c for c in mg["communes"] if 1 <= c["n_ps"] <= 4]
    assert len(under5) == 2 and all(not c["counted"] for c in under5)
    assert mg["n_ps_neutralised"] == sum(c["n_ps"] for c in under5)
    assert mg["n_ps_counted"] == sum(c["n_ps"] for c in mg["communes"] if c["n_ps"] >= 5)
    assert mg["neutralised_rate"] == r1(100 * mg["n_ps_neutralised"] / mg["n_ps_total"])
    assert f"2 commune(s) neutralisée(s) : {mg['n_ps_neutralised']} sur {mg['n_ps_total']}" in mg["summary"]
    assert mg["patients_per_ps"]["partial"] is True and mg["patients_per_ps"]["value"] is not None
    # Only communes under 5: the ratio is masked, never "0*" (the seed report's orthoptist defect).
    doc = _diag(agg_url, small)
    mg = next(a for a in doc["offer"]["activity"] if a["profession"] == "mg")
    assert mg["patients_per_ps"]["masked"] is True and mg["patients_per_ps"]["value"] is None
    assert all(act["value"] is None and act["masked"] for act in mg["acts"])


def test_rule5_age_comparison_needs_11_inhabitants(agg_url: str, database_url: str) -> None:
    tiny = sql(
        database_url,
        "SELECT commune_code FROM stats.commune_profile WHERE population < 11 ORDER BY commune_code LIMIT 1",
    )[0]["commune_code"]
    pop = _diag(agg_url, [tiny])["population"]
    assert pop["age_comparison"] is False and "moins de 11 habitants" in pop["age_comparison_reason"]
    assert all(b["comparisons"] is None for b in pop["age_bands"])
    big = sql(
        database_url,
        "SELECT commune_code FROM stats.commune_profile WHERE consumers > 5000 ORDER BY commune_code LIMIT 1",
    )[0]["commune_code"]
    pop = _diag(agg_url, [big])["population"]
    assert pop["age_comparison"] is True and all(b["comparisons"] is not None for b in pop["age_bands"])
    assert sum(b["count"] for b in pop["age_bands"]) == pop["age_total"]


def test_age_bands_are_kept_or_neutralised_per_commune(agg_url: str, database_url: str) -> None:
    # A commune with one band under 11 is neutralised for all its bands (rule 5, per commune): next to any
    # other commune it changes no published band, so no band comes back by difference.
    rows = sql(
        database_url,
        """
        SELECT a.commune_code FROM stats.commune_age_bands a JOIN stats.commune_profile p USING (commune_code)
        WHERE p.consumers >= 50 GROUP BY a.commune_code HAVING count(*) FILTER (WHERE a.n < 11) = 1
        ORDER BY a.commune_code LIMIT 1""",
    )
    assert rows, "the demo data must contain a commune with exactly one age band under 11"
    small = rows[0]["commune_code"]
    pop = _diag(agg_url, [small])["population"]
    assert pop["age_neutralised_communes"] == [small] and pop["age_total"] is None
    assert all(b["masked"] and b["count"] is None and b["status"] == "secret" for b in pop["age_bands"])
    big = sql(
        database_url,
        "SELECT commune_code FROM stats.commune_age_kept WHERE kept ORDER BY consumers DESC LIMIT 1",
    )[0]["commune_code"]
    alone, both = _diag(agg_url, [big])["population"], _diag(agg_url, [big, small])["population"]
    assert [b["count"] for b in alone["age_bands"]] == [b["count"] for b in both["age_bands"]]
    assert both["age_neutralised_communes"] == [small]


def test_rule7_professional_ages(agg_url: str, small_communes: list[str]) -> None:
    doc = _diag(agg_url, small_communes[:5])
    for row in doc["offer"]["demography"]:
        if row["is_business"] or row["n"] < 5:
            assert row["ages_masked"] and row["n_60plus"] is None and row["n_65plus"] is None
            assert row["ages_status"] == ("sans_objet" if row["is_business"] or row["n"] == 0 else "secret")
        if row["n_60plus"] is not None:
            assert row["n_65plus"] <= row["n_60plus"] <= row["ages_n"] <= row["n"]
        assert not row["ages_reason"] or row["ages_reason"].startswith(("Secret statistique", "Sans objet"))


def test_reference_values_are_masked_below_11(agg_url: str, database_url: str) -> None:
    rows = sql(
        database_url,
        """
        SELECT r.indicator_id, r.unit_code,
               (SELECT commune_code FROM stats.commune_profile p WHERE p.departement_code = r.unit_code
                ORDER BY commune_code LIMIT 1) AS code
        FROM stats.reference_indicators_kept r
        WHERE r.level = 'departement' AND r.numerator < 11 ORDER BY 1, 2 LIMIT 1""",
    )
    if not rows:
        import pytest

        pytest.skip("no département-level reference under 11 in this dataset")
    ind, code = rows[0]["indicator_id"], rows[0]["code"]
    doc = _diag(agg_url, [code], [ind] if ind.startswith("ald_") else [])
    dep = indicator_index(doc)[ind]["comparisons"]["departement"]
    assert dep["value"] is None and dep["weights"][0]["value"] is None
