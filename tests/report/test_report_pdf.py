"""The PDF report end to end: real aggregate and report processes, real PostGIS, text checked with poppler."""

from __future__ import annotations

import re

import aiohttp
import msgspec
import pytest

from services.common.contract import DIAGNOSIS, Diagnosis

from .conftest import MULTI, SMALL, TINY, flat, page_count, pdf_text, render_pages

# The http fixture lives on the session loop (asyncio_default_fixture_loop_scope): run the tests on it.
pytestmark = [pytest.mark.usefixtures("poppler"), pytest.mark.asyncio(loop_scope="session")]

SECTIONS = [
    "Sommaire",
    "La carte",
    "Le territoire",
    "Communes retenues",
    "Structure par âge des consommants",
    "Indicateurs missions des CPTS",
    "Accès aux soins",
    "Prévention",
    "Vaccination",
    "Offre de soins",
    "Démographie des professionnels de santé",
    "Activité",
    "Structures",
    "Méthodologie et ressources",
    "Secret statistique",
    "Pondération des comparaisons",
    "Définitions des indicateurs",
    "Financement ACI",
    "Glossaire",
    "Pour aller plus loin",
    "Contacts utiles",
]


async def report(http: aiohttp.ClientSession, url: str, **body) -> tuple[int, bytes, dict]:
    async with http.post(f"{url}/v1/report.pdf", json=body) as resp:
        return resp.status, await resp.read(), resp.headers.copy()


async def diagnosis(http: aiohttp.ClientSession, url: str, communes: list[str]) -> Diagnosis:
    async with http.post(f"{url}/v1/diagnosis", json={"communes": communes}) as resp:
        assert resp.status == 200, await resp.text()
        return DIAGNOSIS.decode(await resp.read())


def check_common(pdf: bytes, d: Diagnosis) -> str:
    """What every report must show; returns the flattened text."""
    assert pdf.startswith(b"%PDF-")
    text = flat(pdf_text(pdf))
    for title in SECTIONS:
        assert title in text, title
    for c in d.communes:
        assert c.nom in text, c.nom
        assert c.code in text, c.code
    if d.demo:
        assert "données de démonstration" in flat(pdf_text(pdf, first=1, last=1)).lower()
        # the running footer says it on every page, the last one included
        n = page_count(pdf)
        assert "données de démonstration" in flat(pdf_text(pdf, first=n, last=n)).lower()
    assert f"version des données {d.data_version}" in text
    return text


async def test_small_report(http, report_url, aggregate_url, artifacts_dir):
    d = await diagnosis(http, aggregate_url, SMALL)
    top5 = {i.id for i in d.prevalences.top5}
    extra = next(ref for ref in d.prevalences.catalogue if ref.id not in top5)
    status, pdf, headers = await report(
        http, report_url, communes=SMALL, name="CPTS du pays de Gardanne", date="2025-01-31", ald=[extra.id]
    )
    assert status == 200, pdf[:500]
    assert headers["Content-Type"] == "application/pdf"
    assert "Projet_CPTS" not in headers["Content-Disposition"]  # named after the project
    assert headers["X-Data-Version"] == d.data_version
    text = check_common(pdf, d)
    assert "CPTS du pays de Gardanne" in text
    assert "Rapport généré le 31 janvier 2025" in text
    # the ALD asked for beyond the top 5 has its own table
    assert "ALD ciblées à votre demande" in text and extra.label in text
    assert 6 <= page_count(pdf) <= 30
    assert render_pages(pdf, artifacts_dir / "report", "small")


async def test_multi_departement_report(http, report_url, aggregate_url, artifacts_dir):
    d = await diagnosis(http, aggregate_url, MULTI)
    status, pdf, _ = await report(
        http, report_url, communes=MULTI, name="Saint-Jeannet / Beynes", date="2025-01-31"
    )
    assert status == 200, pdf[:500]
    text = check_common(pdf, d)
    # homonyms are told apart by their département wherever a name stands alone
    assert "Saint-Jeannet (04)" in text and "Saint-Jeannet (06)" in text
    assert "Beynes (04)" in text and "Beynes (78)" in text
    # three disjoint parts: three panels and the locator map; comparisons weighted over 04, 06 and 78
    for dep in ("Alpes-de-Haute-Provence (04)", "Alpes-Maritimes (06)", "Yvelines (78)"):
        assert dep in text
    assert "Situation des parties en France métropolitaine" in text
    assert "Comparateur pondéré" in text
    # every partial indicator names its neutralised communes in a note
    partial = [i for i in d.access + d.prevention + d.vaccination if i.partial and not i.masked]
    assert partial, "the seed territory is expected to have neutralised communes"
    names = {c.code: c.nom for c in d.communes}
    for ind in partial:
        n = len(ind.neutralised_communes)
        counted = f"{n} commune{'s' if n > 1 else ''} neutralisée{'s' if n > 1 else ''} sur {len(MULTI)}"
        assert counted in text, ind.label
        for code in ind.neutralised_communes:
            assert names[code] in text
    # the territory's contacts: national number and the two régions' ARS
    assert "3608" in text
    assert "www.paca.ars.sante.fr" in text and "www.iledefrance.ars.sante.fr" in text
    assert 6 <= page_count(pdf) <= 30
    assert render_pages(pdf, artifacts_dir / "report", "multi-departement", last=5)


async def test_masked_values_read_secret_statistique(http, report_url, aggregate_url, artifacts_dir):
    d = await diagnosis(http, aggregate_url, TINY)
    masked = [i for i in d.population.indicators + d.access + d.prevention + d.vaccination if i.masked]
    assert masked, "a 54-inhabitant commune is expected to have masked indicators"
    status, pdf, _ = await report(http, report_url, communes=TINY, date="2025-01-31")
    assert status == 200, pdf[:500]
    check_common(pdf, d)
    layout = pdf_text(pdf, layout=True)
    assert "secret statistique" in layout
    for ind in masked:
        lines = [ln for ln in layout.splitlines() if ln.strip().startswith(ind.label[:30])]
        assert lines, ind.label
        # the territory cell of a masked row is the words, never a number (the row may also carry the
        # comparators, which are not secret)
        assert any("secret statistique" in ln for ln in lines), (ind.label, lines)
        assert not any(
            ln.split(ind.label[:30], 1)[1].split()[:1] in (["0"], ["0,0"], ["0,0 %"]) for ln in lines
        )
    assert render_pages(pdf, artifacts_dir / "report", "masked", last=6)


async def test_hundred_communes(http, report_url, aggregate_url, hundred, artifacts_dir):
    d = await diagnosis(http, aggregate_url, hundred)
    status, pdf, headers = await report(
        http, report_url, communes=hundred, name="Cent communes", date="2025-01-31"
    )
    assert status == 200, pdf[:500]
    check_common(pdf, d)
    assert 8 <= page_count(pdf) <= 40
    assert "typst;dur=" in headers["Server-Timing"]
    assert render_pages(pdf, artifacts_dir / "report", "hundred", last=5)


async def test_overseas_territory_uses_local_projections(http, report_url, aggregate_url):
    # Saint-Denis (La Réunion) and Fort-de-France (Martinique): two panels, each in its own projection.
    communes = ["97411", "97209"]
    d = await diagnosis(http, aggregate_url, communes)
    status, pdf, _ = await report(http, report_url, communes=communes, date="2025-01-31")
    assert status == 200, pdf[:500]
    text = check_common(pdf, d)
    assert "EPSG:2975" in text and "EPSG:5490" in text
    assert "Lambert-93" not in text


@pytest.mark.parametrize(
    "name",
    [
        '#read("/etc/passwd")',
        ']#eval("1+1")[',
        '#import "@preview/cetz:0.3.0": * $x^2$ <label> @ref *gras* _it_ `code` \\ // commentaire',
        "مشروع مركز صحي في مدينة",
        " ".join(f"mot{i:02d}" for i in range(20)),  # 119 characters of words, within the limit
        "x" * 120,
    ],
)
async def test_hostile_names_print_literally(http, report_url, name):
    status, pdf, _ = await report(http, report_url, communes=SMALL, name=name, date="2025-01-31")
    assert status == 200, pdf[:500]
    text = pdf_text(pdf)
    # Long names wrap, even across pages: compare without whitespace and without the running header and
    # footer (the full name is printed once, in small type, after the methodology).
    squeezed = "".join(flat(text).split())
    header = name if len(name) <= 70 else name[:70].rstrip() + "…"
    squeezed = squeezed.replace("RézoneCPTS—diagnosticterritorial" + "".join(header.split()), "")
    squeezed = re.sub(
        r"Donnéesdedémonstration—Généréle\d\d/\d\d/\d{4}·versiondesdonnées\w+Page\d+/\d+", "", squeezed
    )
    assert "".join(name.split()) in squeezed
    assert "root:x:0:0" not in text
    assert page_count(pdf) <= 40


async def test_same_input_same_bytes(http, report_url):
    body = {"communes": SMALL, "name": "Reproductible", "date": "2025-01-31"}
    s1, pdf1, h1 = await report(http, report_url, **body)
    s2, pdf2, h2 = await report(http, report_url, **body)
    assert s1 == s2 == 200
    assert pdf1 == pdf2
    assert h1["ETag"] == h2["ETag"]
    s3, pdf3, _ = await report(http, report_url, **{**body, "date": "2025-02-01"})
    assert s3 == 200 and pdf3 != pdf1
    assert "1 février 2025" in flat(pdf_text(pdf3, first=1, last=1))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"communes": ["1304"]}, 400, "invalid_commune_code"),
        ({"communes": []}, 400, "empty_selection"),
        ({"communes": [f"13{i:03d}" for i in range(1, 102)]}, 422, "too_many_communes"),
        ({"communes": ["01999"]}, 422, "unknown_commune"),
        ({"communes": ["75056"]}, 422, "unknown_commune"),  # Paris is selected by arrondissement
        ({"communes": SMALL, "date": "31/01/2025"}, 400, "invalid_date"),
        ({"communes": SMALL, "name": "a\x00b"}, 400, "invalid_name"),
        ({"communes": SMALL, "name": "n" * 121}, 400, "invalid_name"),
        ({"communes": SMALL, "colour": "red"}, 400, "bad_request"),
        ({"communes": SMALL, "ald": ["ald_99"]}, 422, "unknown_indicator"),
    ],
)
async def test_bad_requests_get_problem_json(http, report_url, body, status, code):
    async with http.post(f"{report_url}/v1/report.pdf", json=body) as resp:
        assert resp.status == status, await resp.text()
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        problem = msgspec.json.decode(await resp.read())
        assert problem["code"] == code
        assert problem["detail"]


async def test_malformed_json_and_oversized_body(http, report_url):
    async with http.post(
        f"{report_url}/v1/report.pdf", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400
        assert msgspec.json.decode(await resp.read())["code"] == "bad_request"
    async with http.post(
        f"{report_url}/v1/report.pdf", data=b"x" * 70_000, headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 413
        assert msgspec.json.decode(await resp.read())["code"] == "payload_too_large"


async def test_health_and_metrics(http, report_url):
    async with http.get(f"{report_url}/healthz") as resp:
        assert resp.status == 200
    async with http.get(f"{report_url}/readyz") as resp:
        assert resp.status == 200
    async with http.get(f"{report_url}/metrics") as resp:
        body = await resp.text()
        assert "report_step_seconds" in body
