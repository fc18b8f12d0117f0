"""Every section of the diagnosis, the seed's multi-département example, the summary and the ACI block."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from services.common.contract import DIAGNOSIS, SUMMARY

from .conftest import SEED_SIX
from .helpers import post, sql


@pytest.fixture(scope="module")
def seed_doc(agg_url: str) -> dict:
    status, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": SEED_SIX, "ald": ["ald_04", "ald_16"]})
    assert status == 200
    return doc


def test_seed_example_alerts_and_population(seed_doc: dict, database_url: str) -> None:
    codes = {a["code"]: a for a in seed_doc["alerts"]}
    assert {"multi_departement", "multi_region", "homonyms", "non_contiguous"} <= set(codes)
    assert sorted(codes["homonyms"]["communes"]) == ["04028", "04181", "06122", "78062"]
    assert "Beynes" in codes["homonyms"]["message"] and "Saint-Jeannet" in codes["homonyms"]["message"]
    # Yvelines Beynes and Alpes-Maritimes Saint-Jeannet are far from the four communes of the 04.
    assert sorted(codes["non_contiguous"]["communes"]) == ["06122", "78062"]
    expected = sql(
        database_url, "SELECT sum(population) AS p FROM ref.communes WHERE code = ANY($1)", SEED_SIX
    )
    assert seed_doc["territory"]["population"] == expected[0]["p"]
    assert seed_doc["territory"]["population"] == sum(c["population"] for c in seed_doc["communes"])
    assert [d["code"] for d in seed_doc["territory"]["departements"]] == ["04", "06", "78"]
    assert seed_doc["territory"]["commune_count"] == 6


def test_document_matches_contract(seed_doc: dict) -> None:
    import json

    diag = DIAGNOSIS.decode(json.dumps(seed_doc))
    assert diag.demo is True and any(s.is_demo for s in diag.sources)
    assert [r.id for r in diag.secrecy_rules][:6] == [
        "consommateurs_50",
        "neutralisation_11",
        "territoire_11",
        "activite_5",
        "ages_11",
        "difference",
    ]


def test_sections_are_complete(seed_doc: dict) -> None:
    assert [b["band"] for b in seed_doc["population"]["age_bands"]] == [
        "0-17",
        "18-39",
        "40-64",
        "65-79",
        "80+",
    ]
    assert [i["id"] for i in seed_doc["population"]["indicators"]] == ["pop_ald", "pop_c2s"]
    assert [i["id"] for i in seed_doc["access"]] == [
        "mt_17_sans",
        "mt_17_sans_ald",
        "mt_17_sans_c2s",
        "mt_70_sans",
        "urgences",
        "admissions_directes",
    ]
    assert len(seed_doc["prevention"]) + len(seed_doc["vaccination"]) == 15
    prev = seed_doc["prevalences"]
    assert len(prev["catalogue"]) == 29 and len(prev["top5"]) <= 5
    nums = [i["numerator"] for i in prev["top5"]]
    assert all(n is not None for n in nums) and nums == sorted(nums, reverse=True)
    assert [i["id"] for i in prev["requested"]] == ["ald_04", "ald_16"]
    offer = seed_doc["offer"]
    assert len(offer["demography"]) == 15
    assert [a["profession"] for a in offer["activity"]] == [
        "mg",
        "infirmiers",
        "kines",
        "orthophonistes",
        "orthoptistes",
    ]
    assert [len(a["acts"]) for a in offer["activity"]] == [2, 2, 3, 1, 1]
    assert len(offer["structures"]) == 14
    # The seed's five e-CDS rows, in its order (V0260: médicaux and polyvalents no longer folded).
    assert [g["key"] for g in offer["centres_de_sante"]] == [
        "dentaire",
        "infirmier",
        "medical",
        "non_type",
        "polyvalent",
    ]
    for item in seed_doc["access"] + seed_doc["prevention"]:
        assert item["source"] and item["period"] and item["is_demo"] is True
        assert set(item["comparisons"]) == {"departement", "region", "france"}


def test_territory_totals_are_sums_of_rows(agg_url: str, database_url: str) -> None:
    # A QPV shared by two communes: the distinct count must be lower than the per-commune sum.
    shared = sql(
        database_url,
        """SELECT array_agg(q.commune_code ORDER BY q.commune_code) AS codes
                                  FROM ref.qpv_communes q GROUP BY q.qpv_code HAVING count(*) > 1 LIMIT 1""",
    )
    assert shared, "the demo data must contain a QPV spanning two communes"
    codes = list(shared[0]["codes"])
    extra = sql(
        database_url,
        """SELECT commune_code FROM stats.commune_profile WHERE zonage IS NOT NULL
           AND departement_code = (SELECT departement_code FROM ref.communes WHERE code = $1)
           ORDER BY commune_code LIMIT 3""",
        codes[0],
    )
    codes += [r["commune_code"] for r in extra if r["commune_code"] not in codes]
    status, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": codes})
    assert status == 200
    t, rows = doc["territory"], doc["communes"]
    assert t["population"] == sum(r["population"] or 0 for r in rows)
    assert t["qpv_commune_sum"] == sum(r["qpv_count"] for r in rows)
    assert t["qpv_count"] == len({q for r in rows for q in r["qpv"]}) == len(t["qpv_codes"])
    assert t["qpv_count"] < t["qpv_commune_sum"]
    assert t["zonage_count"] == sum(r["zonage"] is not None for r in rows) == t["zip_count"] + t["zac_count"]
    assert sorted(c for d in t["departements"] for c in d["communes"]) == sorted(r["code"] for r in rows)
    assert sum(d["population"] for d in t["departements"]) == t["population"]


def test_summary_agrees_with_diagnosis(agg_url: str, seed_doc: dict) -> None:
    import json

    status, doc, _ = post(agg_url, "/v1/summary", {"communes": SEED_SIX})
    assert status == 200
    summary = SUMMARY.decode(json.dumps(doc))
    assert summary.population == seed_doc["territory"]["population"]
    assert summary.professionals == sum(f.n for f in summary.families)
    top_level = [r for r in seed_doc["offer"]["demography"] if r["parent"] is None]
    assert summary.professionals == sum(r["n"] for r in top_level)
    assert summary.structures == sum(g["total"] for g in seed_doc["offer"]["structures"])


def _commune_with_population(database_url: str, low: int, high: int) -> str:
    rows = sql(
        database_url,
        """SELECT commune_code FROM stats.commune_profile WHERE population >= $1
                                AND population < $2 ORDER BY population LIMIT 1""",
        low,
        high,
    )
    assert rows, f"no commune with population in [{low}, {high})"
    return rows[0]["commune_code"]


@pytest.mark.parametrize(
    ("low", "high", "size", "total"),
    [
        (1000, 30000, 1, 220000),
        (45000, 75000, 2, 287000),
        (85000, 170000, 3, 370000),
        (180000, 10**7, 4, 450000),
    ],
)
def test_aci_envelope_by_size(
    agg_url: str, database_url: str, low: int, high: int, size: int, total: int
) -> None:
    code = _commune_with_population(database_url, low, high)
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": [code]})
    aci = doc["aci"]
    assert aci["size"] == size and aci["total"] == total and aci["schedule"] == "ACI 2019"
    assert aci["total"] == sum(m["total"] for m in aci["missions"])
    for mission in aci["missions"]:
        assert mission["total"] == sum(line["amount"] for line in mission["lines"])
    assert {m["mission"] for m in aci["missions"]} == {
        "fonctionnement",
        "acces",
        "parcours",
        "prevention",
        "qualite",
        "accompagnement",
    }
    # Only amounts read in the published instrument are kept (V0170): every line is verified and names it;
    # the unverified Avenant 2 rows are gone.
    lines = [line for m in aci["missions"] for line in m["lines"]] + aci["amendments"]
    assert all(line["verified"] and "SSAS1924409A" in line["note"] for line in lines)
    assert aci["amendments"] == []


def test_aci_warning_near_threshold(agg_url: str, database_url: str) -> None:
    code = _commune_with_population(database_url, 38500, 41500)
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": [code]})
    assert doc["aci"]["near_threshold"] is True and "40 000" in doc["aci"]["warning"]
    far = _commune_with_population(database_url, 10000, 30000)
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": [far]})
    assert doc["aci"]["near_threshold"] is False and doc["aci"]["warning"] is None


def test_partial_data_alert_for_mayotte(agg_url: str, database_url: str) -> None:
    rows = sql(
        database_url,
        "SELECT commune_code FROM stats.commune_profile WHERE departement_code = '976' ORDER BY 1 LIMIT 2",
    )
    codes = [r["commune_code"] for r in rows]
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": codes})
    alert = next(a for a in doc["alerts"] if a["code"] == "partial_data")
    assert set(alert["communes"]) == set(codes)
    assert doc["territory"]["population_partial"] is True


def test_commune_in_cpts_alert(agg_url: str, database_url: str) -> None:
    row = sql(
        database_url,
        "SELECT commune_code, cpts_nom FROM stats.commune_profile WHERE cpts_id IS NOT NULL "
        "ORDER BY 1 LIMIT 1",
    )[0]
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": [row["commune_code"]]})
    alert = next(a for a in doc["alerts"] if a["code"] == "commune_in_cpts")
    assert alert["communes"] == [row["commune_code"]] and row["cpts_nom"] in alert["message"]
    assert doc["communes"][0]["cpts"]["nom"] == row["cpts_nom"]


def test_single_call_equals_the_parallel_parts(agg_url: str, database_url: str, seed_doc: dict) -> None:
    """api.diagnosis (one call, one snapshot) equals the service's three parts run in parallel."""
    import asyncio
    import json

    import asyncpg

    async def single() -> dict:
        conn = await asyncpg.connect(database_url, server_settings={"role": "rezone_reader"})
        try:
            return json.loads(
                await conn.fetchval("SELECT api.diagnosis($1, $2)::text", SEED_SIX, ["ald_04", "ald_16"])
            )
        finally:
            await conn.close()

    assert asyncio.run(single()) == seed_doc


def _round1(num: int, den: int) -> float:
    """PostgreSQL's round(numeric, 1): half away from zero."""
    return float((Decimal(num) / Decimal(den)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_densities_recomputed_from_public_counts(seed_doc: dict, database_url: str) -> None:
    """Professionals per 10 000 inhabitants: the territory and each unit recomputed from the raw public
    counts, the weighted département comparator from the published (rounded) unit values and
    weights (rule 10)."""
    densities = {d["category"]: d for d in seed_doc["offer"]["densities"]}
    assert list(densities) == [
        "mg",
        "specialistes",
        "dentistes",
        "sages_femmes",
        "infirmiers",
        "kines",
        "orthophonistes",
        "orthoptistes",
        "podologues",
    ]
    raw = sql(
        database_url,
        """SELECT d.category, sum(d.n)::int AS n FROM stats.commune_demography d
           WHERE d.commune_code = ANY($1) GROUP BY 1""",
        SEED_SIX,
    )
    population = seed_doc["territory"]["population"]
    units = {
        (r["departement_code"], r["category"]): (r["n"], r["p"])
        for r in sql(
            database_url,
            """SELECT c.departement_code, k.key AS category,
                      (SELECT coalesce(sum(d.n), 0) FROM stats.commune_demography d JOIN ref.communes x
                         ON x.code = d.commune_code
                       WHERE d.category = k.key AND x.departement_code = c.departement_code
                         AND x.population IS NOT NULL)::int AS n,
                      sum(c.population)::int AS p
               FROM ref.communes c CROSS JOIN ref.ps_categories k
               WHERE c.selectable AND c.departement_code IN ('04', '06', '78')
               GROUP BY 1, 2""",
        )
    }
    for r in raw:
        if r["category"] not in densities:
            continue
        d = densities[r["category"]]
        assert d["status"] == "publie" and d["n"] == r["n"]
        assert d["value"] == pytest.approx(_round1(10000 * r["n"], population))
        dep = d["comparisons"]["departement"]
        assert dep["weighted"] is True and [w["code"] for w in dep["weights"]] == ["04", "06", "78"]
        for w in dep["weights"]:
            n, p = units[(w["code"], r["category"])]
            assert w["value"] == pytest.approx(_round1(10000 * n, p))
        ws = [(Decimal(str(w["weight"])), Decimal(str(w["value"]))) for w in dep["weights"]]
        mean = sum(a * b for a, b in ws) / sum(a for a, _ in ws)
        assert dep["value"] == float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        assert dep["difference"] == pytest.approx(d["value"] - dep["value"], abs=1e-6)
