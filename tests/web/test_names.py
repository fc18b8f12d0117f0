"""Names as people type and read them, in a real Chromium against the real stack: searching with and
without the article, a commune déléguée, a postal code; the CSV printing the article; an old code in a shared
link or a project file replaced by its successor in one click."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import assert_clean
from .test_journey import add_by_search, chip_codes, download, text

pytestmark = pytest.mark.browser


def options(page: Page, query: str) -> list[str]:
    box = page.locator("#search-input")
    box.fill("")
    box.press_sequentially(query, delay=20)
    expect(page.locator("#search-results")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#search-results li[role=option]").first).to_be_visible()
    return [text(o) for o in page.locator("#search-results li[role=option]").all()]


def test_search_and_exports_with_articles(
    open_page, gateway_url: str, artifacts_dir: Path, tmp_path: Path
) -> None:
    page = open_page(f"{gateway_url}/")
    page.locator("#start-add").click()
    add_by_search(page, "Le Havre", "76351", keyboard=True)
    add_by_search(page, "rochelle", "17300", keyboard=True)  # without its article
    add_by_search(page, "st etienne", "42218", keyboard=False)
    assert options(page, "seynod")[0].startswith("Seynod")
    assert "Commune déléguée d'Annecy" in options(page, "seynod")[0]
    add_by_search(page, "seynod", "74010", keyboard=True)
    assert any("Le Tholonet" in o and "Code postal 13100" in o for o in options(page, "13100"))
    names = {text(c.locator(".chip-name")) for c in page.locator("#chips li.chip").all()}
    assert {"Le Havre", "La Rochelle", "Saint-Étienne", "Annecy"} <= names
    page.screenshot(path=artifacts_dir / "names-search.png")
    csv = tmp_path / "communes.csv"
    download(page, lambda: page.locator("#download-csv").click(), "#download-status").save_as(csv)
    content = csv.read_bytes().decode("utf-8-sig")
    assert "76351;Le Havre;" in content and "17300;La Rochelle;" in content
    assert_clean(page)


def test_old_code_in_a_shared_link_replaced_in_one_click(open_page, gateway_url: str) -> None:
    page = open_page(f"{gateway_url}/#c=74011,76351")
    page.rezone_log.expected_http_errors.append("/api/v1/territory")  # type: ignore[attr-defined]
    status = page.locator("#feedback")
    expect(status).to_contain_text("74011 Annecy-le-Vieux a fusionné dans 74010 Annecy", timeout=30_000)
    assert chip_codes(page) == {"76351"}
    page.locator("#accept-successors").click()
    expect(page.locator("#chips li.chip[data-code='74010']")).to_be_visible()
    expect(page.locator("#chips li.chip[data-code='74010'] .chip-name")).to_have_text(
        "Annecy", timeout=30_000
    )
    assert chip_codes(page) == {"76351", "74010"}


def test_old_code_in_a_project_file_replaced_in_one_click(
    open_page, gateway_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "ancien.txt"
    project.write_text(
        "REZONE-CPTS-PROJET 1\ncommunes: 2\n74011 Annecy-le-Vieux\n76351 Havre\n", encoding="utf-8"
    )
    page = open_page(f"{gateway_url}/")
    page.locator("#import-file").set_input_files(project)
    page.get_by_role("button", name="Charger").click()
    status = page.locator("#feedback")
    expect(status).to_contain_text("74011 Annecy-le-Vieux a fusionné dans 74010 Annecy", timeout=30_000)
    expect(page.locator("#chips li.chip")).to_have_count(1)
    page.locator("#accept-successors").click()
    expect(page.locator("#chips li.chip")).to_have_count(2)
    assert chip_codes(page) == {"76351", "74010"}
    expect(page.locator("#chips li.chip[data-code='76351'] .chip-name")).to_have_text(
        "Le Havre", timeout=30_000
    )
