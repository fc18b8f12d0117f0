"""Secrecy in SQL on the small fixture (fixture.sql): every expected figure is worked out here by hand.

The national template checks secrecy statistically (the auditor, properties over thousands of selections);
these check the rules of docs/methodology.md §2.2 one by one on cells small enough to read.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALPHA, BRAVO, CHARLIE, DELTA, ECHO = "04001", "04002", "04003", "05001", "05002"


async def _kept(conn: asyncpg.Connection, indicator: str) -> dict[str, bool]:
    rows = await conn.fetch(
        "SELECT commune_code, kept FROM stats.commune_indicators_kept WHERE indicator_id = $1", indicator
    )
    return {r["commune_code"]: r["kept"] for r in rows}


async def _indicator(conn: asyncpg.Connection, codes: list[str], indicator: str) -> dict:
    doc = json.loads(await conn.fetchval("SELECT api.diagnosis($1)", codes))
    listed = doc["population"]["indicators"] + doc["access"] + doc["prevention"] + doc["vaccination"]
    found = [i for i in listed if i["id"] == indicator]
    assert len(found) == 1, [i["id"] for i in listed]
    return found[0]


async def test_age_bands_kept_only_with_50_consumers_and_every_band_at_least_11(small_db) -> None:
    rows = await small_db.fetch("SELECT commune_code, consumers, kept FROM stats.commune_age_kept")
    got = {r["commune_code"]: (r["consumers"], r["kept"]) for r in rows}
    # 100+200+300+150+50, 20+30+40+15+12, 5+10+10+8+7 (< 50), 50+80+120+60+30, 30+40+50+25+15.
    assert got == {
        ALPHA: (800, True),
        BRAVO: (117, True),
        CHARLIE: (40, False),
        DELTA: (340, True),
        ECHO: (160, True),
    }


async def test_cell_complement_and_consumers_rules(small_db) -> None:
    # Alpha 120/700 kept; Bravo 8 < 11; Charlie 40 consumers < 50; Delta 60/290 kept;
    # Écho 130 - 120 = 10 < 11.
    assert await _kept(small_db, "pop_ald") == {
        ALPHA: True,
        BRAVO: False,
        CHARLIE: False,
        DELTA: True,
        ECHO: False,
    }


async def test_nested_numerator_neutralised_when_its_difference_with_a_published_parent_is_below_11(
    small_db,
) -> None:
    # mt_17_sans_ald ⊂ mt_17_sans and ⊂ pop_ald. Alpha: 100 - 50 and 120 - 50 >= 11, kept. Bravo: 6 < 11.
    # Delta: mt_17_sans 40 - 35 = 5 < 11. Écho: 20 - 15 = 5 < 11 (its pop_ald is not published: no clash
    # there, the mt_17_sans one suffices). The parents themselves stay published.
    assert await _kept(small_db, "mt_17_sans_ald") == {ALPHA: True, BRAVO: False, DELTA: False, ECHO: False}
    assert await _kept(small_db, "mt_17_sans") == {ALPHA: True, BRAVO: True, DELTA: True, ECHO: True}


async def test_reference_levels_sum_only_kept_cells(small_db) -> None:
    rows = await small_db.fetch(
        "SELECT level, unit_code, numerator, denominator, communes FROM stats.reference_indicators_kept "
        "WHERE indicator_id = 'pop_ald' ORDER BY level, unit_code"
    )
    # Kept: Alpha 120/700 (04) and Delta 60/290 (05); région 93 and France are their sum.
    assert [tuple(r) for r in rows] == [
        ("departement", "04", 120, 700, 1),
        ("departement", "05", 60, 290, 1),
        ("france", "FR", 180, 990, 2),
        ("region", "93", 180, 990, 2),
    ]


async def test_diagnosis_sums_kept_cells_and_names_the_neutralised_communes(small_db) -> None:
    got = await _indicator(small_db, [CHARLIE, ALPHA, BRAVO], "pop_ald")
    # Only Alpha's cell counts: 120 / 700 = 17.14 %; Bravo and Charlie neutralised, in table order (name).
    assert (got["numerator"], got["denominator"], got["value"]) == (120, 700, 17.1)
    assert got["masked"] is False and got["partial"] is True and got["status"] == "publie"
    assert got["neutralised_communes"] == [BRAVO, CHARLIE] and got["neutralised_rate"] == 66.7


async def test_diagnosis_masks_a_territory_whose_every_commune_is_neutralised(small_db) -> None:
    got = await _indicator(small_db, [BRAVO, CHARLIE], "pop_ald")
    assert got["masked"] is True and got["status"] == "secret"
    assert got["value"] is None and got["numerator"] is None and got["denominator"] is None
    assert "toutes les communes sont neutralisées" in got["reason"]


async def test_a_cell_raised_to_the_threshold_is_published(small_db) -> None:
    """The boundary of rule 1: Bravo's numerator at 10 stays secret, at 11 it is published (transaction
    rolled back by the fixture)."""
    for numerator, kept in ((10, False), (11, True)):
        await small_db.execute(
            "UPDATE health.indicator_counts SET numerator = $1 "
            "WHERE indicator_id = 'pop_ald' AND commune_code = $2",
            numerator,
            BRAVO,
        )
        await small_db.execute("REFRESH MATERIALIZED VIEW stats.commune_indicators_kept")
        assert (await _kept(small_db, "pop_ald"))[BRAVO] is kept
    got = await _indicator(small_db, [BRAVO], "pop_ald")
    assert (got["numerator"], got["denominator"], got["value"]) == (11, 97, 11.3)  # 100 * 11 / 97
