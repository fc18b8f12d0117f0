"""The seed's user journey in a real Chromium against the real stack (seeds 000 and 001).

Saint-Jeannet (04 and 06), Beynes (04 and 78), Estoublon and Mézel are added through the search box, the
chips, summary bar, alerts and every panel are checked against what the API says, the PDF and CSV are
downloaded, the project is saved, reset and imported back, and the shareable URL restores the selection in a
fresh context.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Download, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .browser import api_get, assert_clean

pytestmark = pytest.mark.browser

SEED = {  # code -> (name, département) of the seed's example (step 8 of seed 000)
    "04181": ("Saint-Jeannet", "04"),
    "06122": ("Saint-Jeannet", "06"),
    "04028": ("Beynes", "04"),
    "78062": ("Beynes", "78"),
    "04084": ("Estoublon", "04"),
    "04121": ("Mézel", "04"),
}
NBSP = re.compile(r"[\u00a0\u202f]")


def text(locator) -> str:
    """Visible text with French non-breaking spaces normalised."""
    return NBSP.sub(" ", locator.inner_text())


def wait_map(page: Page) -> None:
    """The map has loaded its style and tiles and stopped moving."""
    expect(page.locator("#map")).to_have_attribute("data-state", "idle", timeout=30_000)


def add_by_search(page: Page, query: str, code: str, *, keyboard: bool) -> None:
    """Type in the search box and add the option of `code`, with the keyboard (arrows + Enter) or a click."""
    box = page.locator("#search-input")
    box.fill("")
    box.press_sequentially(query, delay=20)
    expect(page.locator("#search-results")).not_to_have_attribute("aria-busy", "true")
    option = page.locator(f"#search-results li[data-code='{code}']")
    expect(option).to_be_visible()
    if keyboard:
        for _ in range(12):
            if option.get_attribute("aria-selected") == "true":
                break
            box.press("ArrowDown")
        expect(option).to_have_attribute("aria-selected", "true")
        box.press("Enter")
    else:
        option.click()
    expect(page.locator(f"#chips li.chip[data-code='{code}']")).to_be_visible()


def chip_codes(page: Page) -> set[str]:
    return set(page.locator("#chips li.chip").evaluate_all("els => els.map(e => e.dataset.code)"))


def download(page: Page, trigger, status_selector: str, timeout: float = 60_000) -> Download:
    """The file a click downloads; when none comes, fail with what the page told the user."""
    try:
        with page.expect_download(timeout=timeout) as info:
            trigger()
    except PlaywrightTimeout:
        raise AssertionError(
            f"no download; the page says: {page.locator(status_selector).inner_text()!r}"
        ) from None
    return info.value


def check_figures(page: Page, panel, diagnosis: dict) -> None:
    """Every indicator row says "secret statistique" when masked (never a number) and "*" when partial."""
    names = {c["code"]: c["nom"] for c in diagnosis["communes"]}
    indicators = (
        diagnosis["population"]["indicators"]
        + diagnosis["access"]
        + diagnosis["prevalences"]["top5"]
        + diagnosis["prevention"]
        + diagnosis["vaccination"]
    )
    seen = 0
    for ind in indicators:
        row = panel.locator(f"tr[data-indicator='{ind['id']}']")
        if row.count() == 0:
            continue
        seen += 1
        cell = text(row.first.locator("td.ter"))
        if ind["masked"]:
            assert "secret statistique" in cell, (ind["id"], cell)
            assert not re.search(r"\d", cell), (ind["id"], cell)
        else:
            assert re.search(r"\d", cell), (ind["id"], cell)
            assert ("*" in cell) == ind["partial"], (ind["id"], cell)
            if ind["partial"]:
                notes = text(panel)
                for code in ind["neutralised_communes"]:
                    assert names[code] in notes, (ind["id"], code)
    assert seen > 0


def test_seed_journey(open_page, gateway_url: str, artifacts_dir: Path, tmp_path: Path) -> None:
    """Search, add six communes (two pairs of homonyms), panels, downloads, save/reset/import, shared URL."""
    shots = artifacts_dir / "web"
    shots.mkdir(exist_ok=True)
    page = open_page(gateway_url + "/")
    # The demo banner and the data vintages are there from the start, before any selection (/api/v1/meta).
    meta = api_get(gateway_url, "/api/v1/meta")
    assert meta["demo"] is True  # the test database holds the demo dataset
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#demo-banner")).to_contain_text("Données de démonstration")
    assert chip_codes(page) == set()
    page.get_by_role("button", name="Actualisation des données").click()
    vintages = page.locator("#doc-dialog")
    expect(vintages.locator("tbody tr")).to_have_count(len(meta["sources"]))
    for source in meta["sources"]:
        expect(vintages).to_contain_text(source["vintage"])
    expect(vintages).not_to_contain_text(meta["data_version"])  # a cache hash says nothing to a reader
    page.locator("#doc-close").click()
    expect(vintages).to_be_hidden()
    csp = page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp
    wait_map(page)
    expect(page.locator("#start")).to_be_visible()
    page.screenshot(path=shots / "01-start.png")

    # Keyboard path: the start button puts the focus in the search box.
    page.get_by_role("button", name="Ajouter une première commune").click()
    expect(page.locator("#search-input")).to_be_focused()
    page.locator("#search-input").press_sequentially("Saint-Jeann", delay=20)
    expect(page.locator("#search-results")).not_to_have_attribute("aria-busy", "true")
    options = page.locator("#search-results li[role=option]")
    expect(page.locator("#search-results li[data-code='06122']")).to_be_visible()
    homonyms = page.locator("#search-results li", has_text="Saint-Jeannet")
    assert homonyms.count() == 2
    assert {text(o.locator(".option-dep")).strip()[:2] for o in homonyms.all()} == {"04", "06"}
    assert options.count() >= 2
    page.screenshot(path=shots / "02-search-homonyms.png")

    add_by_search(page, "Saint-Jeannet", "04181", keyboard=True)
    add_by_search(page, "Saint-Jeannet", "06122", keyboard=False)
    add_by_search(page, "Beynes", "04028", keyboard=True)
    add_by_search(page, "Beynes", "78062", keyboard=False)
    add_by_search(page, "Estoublon", "04084", keyboard=True)
    add_by_search(page, "mezel", "04121", keyboard=True)  # accent-insensitive

    # Chips grouped by département, with their codes.
    expect(page.locator("#selection-title")).to_have_text("Projet de CPTS sur 6 commune(s)")
    assert chip_codes(page) == set(SEED)
    groups = page.locator("#chips .chip-group")
    expect(groups).to_have_count(3)
    titles = [text(t) for t in page.locator(".chip-group-title").all()]
    assert [t.split("(")[1][:2] for t in titles] == ["04", "06", "78"]
    assert "Alpes-de-Haute-Provence" in titles[0] and "Yvelines" in titles[2]
    assert groups.nth(0).locator("li.chip").count() == 4

    # Summary bar: exactly the figures of the API.
    codes = ",".join(sorted(SEED))
    summary = api_get(gateway_url, f"/api/v1/territory/summary?communes={codes}")
    line = page.locator("#summary-line")
    expect(line).to_have_attribute("data-state", "ready", timeout=30_000)
    expected = (
        f"{summary['population']:,} habitants – {summary['professionals']:,} prof. de santé libéraux – "
        f"{summary['structures']:,} structure(s) de soins"
    ).replace(",", " ")
    # The line may still show the previous selection's figures for a moment: wait for these ones.
    deadline = time.monotonic() + 30
    while not text(line).startswith(expected) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert text(line).startswith(expected), (text(line), expected)
    page.get_by_role("button", name="Détail des professionnels").click()
    families = page.locator("#summary-families li")
    expect(families).to_have_count(len(summary["families"]))
    assert len(summary["families"]) == 4
    page.screenshot(path=shots / "03-selection-summary.png")
    page.get_by_role("button", name="Détail des professionnels").click()

    # Non-blocking alerts: several départements, homonyms.
    alerts = page.locator("#alerts")
    expect(alerts.locator("[data-code=multi_departement]")).to_be_visible()
    expect(alerts.locator("[data-code=homonyms]")).to_be_visible()
    homonyms_alert = text(alerts.locator("[data-code=homonyms]"))
    for code, (name, dep) in SEED.items():
        if name in ("Saint-Jeannet", "Beynes"):  # each twin named with its code or its département
            assert name in homonyms_alert and (code in homonyms_alert or f"({dep})" in homonyms_alert), code

    # Each panel, checked against the diagnosis; every alert of the diagnosis is shown (territory in pieces…).
    diagnosis = api_get(gateway_url, f"/api/v1/territory?communes={codes}")
    assert "non_contiguous" in {a["code"] for a in diagnosis["alerts"]}
    for alert in diagnosis["alerts"]:
        expect(alerts.locator(f"[data-code={alert['code']}]")).to_contain_text(alert["message"][:40])
    if diagnosis["demo"]:
        expect(page.locator("#demo-banner")).to_be_visible()
    for panel_id, shot in (
        ("panel-population", "04-population"),
        ("panel-missions", "05-missions"),
        ("panel-offre", "06-offre"),
    ):
        details = page.locator(f"#{panel_id}")
        details.locator("> summary").click()
        body = details.locator(".accordion-body")
        expect(body.locator("table").first).to_be_visible(timeout=30_000)
        expect(body).not_to_have_attribute("aria-busy", "true")
        details.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"{shot}.png")
        if panel_id != "panel-offre":
            check_figures(page, body, diagnosis)
    population = text(page.locator("#panel-population"))
    assert "Répartition des consommateurs par tranche d'âge" in population
    missions = page.locator("#panel-missions")
    assert missions.locator("tr[data-indicator]").count() >= len(diagnosis["access"])
    offre = text(page.locator("#panel-offre"))
    assert "Démographie" in offre and "Structures de soins" in offre

    # The ALD picker asks for one more prevalence and shows it.
    extra = next(
        c
        for c in diagnosis["prevalences"]["catalogue"]
        if c["id"] not in {i["id"] for i in diagnosis["prevalences"]["top5"]}
    )
    missions.locator(".focus-picker summary", has_text="Cibler les prévalences").click()
    missions.locator(f"input[value='{extra['id']}']").check()
    expect(missions.locator(f"tr[data-indicator='{extra['id']}']")).to_be_visible(timeout=30_000)
    expect(missions.locator(f"input[value='{extra['id']}']")).to_be_focused()  # focus kept across the redraw

    # Tabs: the dynamic report lists every commune; "Pour aller plus loin" gives the ACI size.
    page.get_by_role("tab", name="Rapport dynamique").click()
    report = page.locator("#report-view")
    expect(report.locator("table.territory")).to_be_visible()
    for code, (name, _) in SEED.items():
        expect(report.locator(f"table.territory tr[data-code='{code}']")).to_contain_text(name)
    page.screenshot(path=shots / "07-rapport.png", full_page=False)
    page.get_by_role("tab", name="Pour aller plus loin").click()
    expect(page.locator("#further-view")).to_contain_text(f"taille {diagnosis['aci']['size']}")
    page.screenshot(path=shots / "08-plus-loin.png")
    page.get_by_role("tab", name="Carte").click()
    page.get_by_role("button", name="Zoomer sur la sélection").click()
    wait_map(page)

    # Documentation: glossaries and the data vintages (with the demo notice when the data are synthetic).
    page.get_by_role("button", name="Glossaire des sigles").click()
    dialog = page.locator("#doc-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Affection de longue durée")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Glossaire des indicateurs").click()
    expect(dialog).to_contain_text(diagnosis["access"][0]["definition"])
    page.locator("#doc-close").click()
    page.get_by_role("button", name="Actualisation des données").click()
    for source in diagnosis["sources"]:
        expect(dialog).to_contain_text(source["vintage"])
    if diagnosis["demo"]:
        expect(dialog).to_contain_text("données de démonstration")
    page.screenshot(path=shots / "08b-donnees.png")
    page.locator("#doc-close").click()

    # Downloads: PDF (with progress indicator), CSV.
    page.locator("#project-name").fill("CPTS du test")

    def pdf_click() -> None:
        page.locator("#download-pdf").click()
        expect(page.locator("#pdf-progress")).to_be_visible()

    pdf = tmp_path / "rapport.pdf"
    download(page, pdf_click, "#download-status").save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    (shots / "rapport.pdf").write_bytes(pdf.read_bytes())
    csv = tmp_path / "communes.csv"
    download(page, lambda: page.locator("#download-csv").click(), "#download-status").save_as(csv)
    content = csv.read_bytes().decode("utf-8-sig")
    for code in SEED:
        assert code in content

    # Save, reset, import back: the same selection.
    saved = download(page, lambda: page.get_by_role("button", name="Sauvegarder").click(), "#feedback")
    project = tmp_path / saved.suggested_filename
    saved.save_as(project)
    page.get_by_role("button", name="Tout réinitialiser").click()
    expect(page.locator("#chips li.chip")).to_have_count(0)
    expect(page.locator("#start")).to_be_visible()
    expect(page.locator("#summary-line")).to_have_text("Aucune commune sélectionnée")
    bad = tmp_path / "notes.txt"
    bad.write_text("Liste de courses : pain, lait\n", encoding="utf-8")
    page.rezone_log.expected_http_errors.append("/api/v1/project/import")  # type: ignore[attr-defined]
    page.locator("#import-file").set_input_files(bad)
    page.get_by_role("button", name="Charger").click()
    expect(page.locator("#import-status")).to_contain_text("Import impossible")
    expect(page.locator("#chips li.chip")).to_have_count(0)
    page.locator("#import-file").set_input_files(project)
    expect(page.locator("#import-filename")).to_have_text(project.name)
    page.get_by_role("button", name="Charger").click()
    expect(page.locator("#chips li.chip")).to_have_count(6, timeout=30_000)
    assert chip_codes(page) == set(SEED)
    expect(page.locator("#chips li.chip.pending")).to_have_count(0, timeout=30_000)
    page.screenshot(path=shots / "09-imported.png")

    # The shareable URL, opened in a fresh context, gives the same selection with names.
    shared = page.url
    assert re.search(r"#c=[0-9AB,]+", shared)
    assert_clean(page)
    other = open_page(shared)
    expect(other.locator("#chips li.chip")).to_have_count(6, timeout=30_000)
    expect(other.locator("#chips li.chip.pending")).to_have_count(0, timeout=30_000)
    assert chip_codes(other) == set(SEED)
    assert {text(c.locator(".chip-name")) for c in other.locator("#chips li.chip").all()} == {
        n for n, _ in SEED.values()
    }
    wait_map(other)
    other.screenshot(path=shots / "10-shared-url.png")
    assert_clean(other)
