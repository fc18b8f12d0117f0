"""Commune search and lookup against the real reference in PostGIS."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _search(http, gateway, q, **params):
    # identity: the answer may be long enough to be gzipped, and this client does not decompress
    async with http.get(
        f"{gateway}/api/v1/communes", params={"q": q, **params}, headers={"Accept-Encoding": "identity"}
    ) as r:
        return r.status, await r.json(content_type=None)


async def test_homonyms_told_apart_exact_name_first(http, gateway):
    status, body = await _search(http, gateway, "saint denis", limit="5")
    assert status == 200
    first = body["results"][:2]
    assert {(r["code"], r["departement"]["code"], r["departement"]["nom"]) for r in first} == {
        ("93066", "93", "Seine-Saint-Denis"),
        ("97411", "974", "La Réunion"),
    }
    assert all(r["nom"] == "Saint-Denis" for r in first)
    assert {r["label"] for r in first} == {"Saint-Denis (93)", "Saint-Denis (974)"}
    pops = [r["population"] for r in body["results"] if r["nom"] == "Saint-Denis"]
    assert pops == sorted(pops, reverse=True)  # exact names by population, then longer names
    assert body["results"][-1]["nom"].startswith("Saint-Denis")


@pytest.mark.parametrize("q", ["SAINT-DÉNIS", "saint-denis", "Saint Denis", "  saint   denis "])
async def test_case_and_accent_insensitive(http, gateway, q):
    status, body = await _search(http, gateway, q, limit="2")
    assert status == 200 and {r["code"] for r in body["results"]} == {"93066", "97411"}


async def test_apostrophes_and_diaeresis(http, gateway):
    status, body = await _search(http, gateway, "MOY-DE-L'AI")
    assert status == 200 and body["results"][0]["nom"] == "Moÿ-de-l'Aisne"


async def test_code_prefix(http, gateway):
    status, body = await _search(http, gateway, "2a00", limit="3")
    assert status == 200
    assert body["results"][0]["code"] == "2A004"  # Ajaccio, the most populated of 2A00x
    assert all(r["code"].startswith("2A00") for r in body["results"])
    status, body = await _search(http, gateway, "93066")
    assert [r["code"] for r in body["results"]] == ["93066"]


async def test_plm_parent_found_with_its_arrondissements(http, gateway):
    status, body = await _search(http, gateway, "paris", limit="3")
    paris = body["results"][0]
    assert paris["code"] == "75056" and paris["selectable"] is False and len(paris["arrondissements"]) == 20
    assert all(r["selectable"] for r in body["results"][1:])


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 101},
        {"q": "a", "limit": "0"},
        {"q": "a", "limit": "51"},
        {"q": "a", "limit": "dix"},
    ],
)
async def test_bad_search_parameters(http, gateway, params):
    async with http.get(f"{gateway}/api/v1/communes", params=params) as r:
        assert r.status == 400 and (await r.json(content_type=None))["code"] == "invalid_parameter"


async def test_no_match_is_empty(http, gateway):
    for q in ("zzzzqqq", "---"):
        status, body = await _search(http, gateway, q)
        assert status == 200 and body["results"] == []


async def test_commune_detail(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes/2a004") as r:
        body = await r.json()
    assert r.status == 200 and body["code"] == "2A004" and body["nom"] == "Ajaccio"
    assert body["departement"] == {"code": "2A", "nom": "Corse-du-Sud"} and body["region"]["code"] == "94"
    w, s, e, n = body["bbox"]
    assert w < body["center"][0] < e and s < body["center"][1] < n
    async with http.get(f"{gateway}/api/v1/communes/75112") as r:
        body = await r.json()
    assert body["kind"] == "ARM" and body["parent_code"] == "75056"


async def test_commune_detail_errors(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes/20004") as r:
        assert r.status == 400 and (await r.json(content_type=None))["code"] == "invalid_commune_code"
    async with http.get(f"{gateway}/api/v1/communes/01999") as r:
        assert r.status == 404 and (await r.json(content_type=None))["code"] == "unknown_commune"


async def test_repeated_search_answered_from_memory(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes", params={"q": "montpel", "limit": "3"}) as r:
        first = await r.read()
        assert r.headers["X-Cache"] == "MISS"
    async with http.get(f"{gateway}/api/v1/communes", params={"q": "MONTPEL ", "limit": "3"}) as r:
        assert r.headers["X-Cache"] == "HIT" and await r.read() == first
    async with http.get(f"{gateway}/api/v1/communes", params={"q": "montpel", "limit": "4"}) as r:
        assert r.headers["X-Cache"] == "MISS"  # another limit, another answer


async def test_nul_in_query_is_refused_not_a_server_error(http, gateway):
    async with http.get(f"{gateway}/api/v1/communes?q=%00z") as r:  # found by schemathesis
        assert r.status == 400 and (await r.json(content_type=None))["code"] == "invalid_parameter"
