"""api.* functions on the small fixture (fixture.sql): selection checks, FINESS groups, territory sums."""

from __future__ import annotations

import json

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _diagnosis(conn: asyncpg.Connection, codes: list[str]) -> dict:
    return json.loads(await conn.fetchval("SELECT api.diagnosis($1)", codes))


async def test_territory_sums_populations_per_departement_and_region(small_db) -> None:
    territory = (await _diagnosis(small_db, ["05001", "04002", "04001"]))["territory"]
    assert territory["population"] == 1000 + 150 + 400 and territory["commune_count"] == 3
    assert [(d["code"], d["communes"], d["population"]) for d in territory["departements"]] == [
        ("04", ["04001", "04002"], 1150),
        ("05", ["05001"], 400),
    ]
    assert [(r["code"], r["population"]) for r in territory["regions"]] == [("93", 1550)]


async def test_age_band_share_and_its_weighted_departement_comparison(small_db) -> None:
    population = (await _diagnosis(small_db, ["04001", "04002", "05001"]))["population"]
    under_18 = next(b for b in population["age_bands"] if b["band"] == "0-17")
    # Selection: 100 + 20 + 50 = 170 under 18 of 800 + 117 + 340 = 1257 consumers -> 13.5 %.
    assert population["age_total"] == 1257 and (under_18["count"], under_18["share"]) == (170, 13.5)
    cmp = under_18["comparisons"]
    # France and région 93: the kept communes (all but Charlie): 200 / 1417 = 14.1 %.
    assert cmp["france"]["value"] == cmp["region"]["value"] == 14.1 and cmp["france"]["difference"] == -0.6
    # Départements weighted by the selection's consumers in each: 04 = 120 / 917 = 13.09 % (weight 917/1257),
    # 05 = 80 / 500 = 16.0 % (weight 340/1257); 0.7295 * 13.09 + 0.2705 * 16.0 = 13.9 %.
    dep = cmp["departement"]
    assert [(w["code"], w["value"], w["weight"]) for w in dep["weights"]] == [
        ("04", 13.1, 0.73),
        ("05", 16.0, 0.27),
    ]
    assert dep["weighted"] is True and dep["value"] == 13.9 and dep["difference"] == -0.4


async def test_unknown_and_empty_selections_raise_their_codes(small_db) -> None:
    with pytest.raises(asyncpg.PostgresError) as unknown:
        async with small_db.transaction():
            await small_db.fetchval("SELECT api.diagnosis($1)", ["04001", "06088", "00000"])
    assert unknown.value.sqlstate == "RZ001" and json.loads(unknown.value.detail) == ["00000", "06088"]
    with pytest.raises(asyncpg.PostgresError) as empty:
        async with small_db.transaction():
            await small_db.fetchval("SELECT api.diagnosis($1)", [])
    assert empty.value.sqlstate == "RZ002"


async def test_second_site_of_a_chr_entity_is_a_chr_entite(small_db) -> None:
    rows = await small_db.fetch(
        "SELECT nofinesset, group_key, approximate FROM stats.finess_groups_et ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == [
        ("040000001", "chr", False),  # the first site of EJ 040000900 by number
        ("040000002", "chr_entite", True),
        ("040000003", "msp", False),
        ("050000001", "ehpad", False),
    ]
    rows = await small_db.fetch(
        "SELECT commune_code, group_key, n, n_approximate FROM stats.commune_finess ORDER BY 1, 2"
    )
    assert [tuple(r) for r in rows] == [
        ("04001", "chr", 1, 0),
        ("04001", "chr_entite", 1, 1),
        ("04002", "msp", 1, 0),
        ("05001", "ehpad", 1, 0),
    ]


async def test_structures_list_every_group_of_the_table_with_its_counts(small_db) -> None:
    structures = (await _diagnosis(small_db, ["04001", "04002", "05001"]))["offer"]["structures"]
    table = await small_db.fetch(
        "SELECT key, label, sector, coordinated FROM ref.finess_groups ORDER BY ordinal"
    )
    assert [(s["key"], s["label"], s["sector"], s["coordinated"]) for s in structures] == [
        tuple(r) for r in table
    ]
    totals = {s["key"]: s["total"] for s in structures if s["total"]}
    assert totals == {"chr": 1, "chr_entite": 1, "msp": 1, "ehpad": 1}
    assert next(s for s in structures if s["key"] == "msp")["communes"] == [
        {"n": 1, "nom": "Bravo", "code": "04002"}
    ]
