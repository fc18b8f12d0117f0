"""The map in a real Chromium: a click on a known coordinate adds the commune there, FINESS toggles and popup,
the 100-commune limit from a shared URL, and the layout at 1024 px."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from .browser import assert_clean
from .test_journey import chip_codes, text, wait_map

pytestmark = pytest.mark.browser


def fetch(dsn: str, sql: str, *args) -> list:
    """Rows of one query, in a thread of its own (Playwright's sync API holds this thread's event loop)."""

    async def run():
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def click_centre(page: Page) -> None:
    """Click the middle of the map canvas, i.e. the coordinate the URL centred the map on."""
    box = page.locator("#map canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_click_adds_the_commune_under_the_cursor(
    open_page, gateway_url: str, database_url: str, artifacts_dir: Path
) -> None:
    """Mézel's label point, centred at zoom 12: hover names it, a click adds it, a second click removes it."""
    row = fetch(
        database_url,
        "SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM ref.communes WHERE code = '04121'",
    )[0]
    page = open_page(f"{gateway_url}/#m=12/{row['lat']:.5f}/{row['lon']:.5f}")
    wait_map(page)
    box = page.locator("#map canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + box["height"] / 2 + 1)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".hover-popup")).to_contain_text("Mézel (04)")
    click_centre(page)
    expect(page.locator("#chips li.chip[data-code='04121']")).to_be_visible()
    expect(page.locator("#feedback")).to_contain_text("Mézel (04) ajoutée")
    assert chip_codes(page) == {"04121"}
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    wait_map(page)
    (artifacts_dir / "web").mkdir(exist_ok=True)
    page.screenshot(path=artifacts_dir / "web" / "11-map-click.png")
    click_centre(page)
    expect(page.locator("#chips li.chip")).to_have_count(0)
    assert_clean(page)


def test_finess_layer_toggles_and_popup(
    open_page, gateway_url: str, database_url: str, artifacts_dir: Path
) -> None:
    """Coordinated care on by default; the legend adds the others; a click on an MSP opens its popup."""
    msp = fetch(
        database_url,
        "SELECT nom, categorie, adresse, "
        "ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat "
        "FROM tiles.finess WHERE groupe = 'msp' AND NOT approximate ORDER BY finess LIMIT 1",
    )[0]
    page = open_page(f"{gateway_url}/#m=14/{msp['lat']:.6f}/{msp['lon']:.6f}")
    wait_map(page)
    page.get_by_role("button", name="Cartographie structures de soins").click()
    legend = page.locator("#finess-legend")
    expect(legend).to_be_visible()
    checked = set(legend.locator("input[value]:checked").evaluate_all("els => els.map(e => e.value)"))
    assert checked == {"msp", "cds", "cpts"}
    page.screenshot(path=artifacts_dir / "web" / "12-finess-legend.png")
    legend.get_by_role("button", name="Tout afficher").click()
    assert legend.locator("input[value]:not(:checked)").count() == 0
    page.get_by_role("button", name="Cartographie structures de soins").click()
    wait_map(page)
    click_centre(page)
    popup = page.locator(".finess-popup")
    expect(popup).to_be_visible()
    expect(popup).to_contain_text(msp["nom"])
    expect(popup).to_contain_text(msp["categorie"])  # the FINESS category label (Maison de santé…)
    expect(popup).to_contain_text(msp["adresse"])
    page.screenshot(path=artifacts_dir / "web" / "13-finess-popup.png")
    assert chip_codes(page) == set()  # the click opened the popup, it did not add a commune
    assert_clean(page)


def test_limit_of_100_communes_from_a_shared_url(open_page, gateway_url: str, database_url: str) -> None:
    """A link with 101 communes restores the first 100, explains the limit, and refuses one more."""
    rows = fetch(
        database_url,
        "SELECT code FROM ref.communes WHERE selectable AND departement_code = '01' ORDER BY code LIMIT 102",
    )
    codes = [r["code"] for r in rows]
    page = open_page(f"{gateway_url}/#c={','.join(codes[:101])}")
    expect(page.locator("#chips li.chip")).to_have_count(100, timeout=30_000)
    expect(page.locator("#selection-limit")).to_contain_text("Limite atteinte")
    expect(page.locator("#feedback")).to_contain_text("101")
    expect(page.locator("#chips li.chip.pending")).to_have_count(0, timeout=60_000)
    box = page.locator("#search-input")
    box.fill(codes[101])
    option = page.locator(f"#search-results li[data-code='{codes[101]}']")
    expect(option).to_be_visible()
    option.click()
    expect(page.locator("#feedback")).to_contain_text("Limite de 100 communes")
    expect(page.locator("#chips li.chip")).to_have_count(100)
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert_clean(page)


def test_usable_at_1024_pixels(open_page, gateway_url: str, artifacts_dir: Path) -> None:
    """No horizontal scroll at 1024 px; search, map and tabs visible; the keyboard reaches the search box."""
    page = open_page(gateway_url + "/#c=04121,04084", viewport={"width": 1024, "height": 768})
    wait_map(page)
    expect(page.locator("#chips li.chip")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    for selector in ("#search-input", "#map", "#tab-rapport", "#summary-line"):
        expect(page.locator(selector)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#search-input")).to_be_focused()
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert "habitants" in text(page.locator("#summary-line"))
    page.screenshot(path=artifacts_dir / "web" / "14-1024px.png")
    assert_clean(page)


def test_shared_url_with_refused_codes(open_page, gateway_url: str) -> None:
    """Paris as a whole and a code absent from the COG leave the selection with a message; Mézel stays."""
    page = open_page(f"{gateway_url}/#c=75056,04121,04999,ABCDE")
    page.rezone_log.expected_http_errors += ["/api/v1/communes/04999", "/api/v1/territory"]  # type: ignore[attr-defined]
    expect(page.locator("#chips li.chip")).to_have_count(1, timeout=30_000)
    assert chip_codes(page) == {"04121"}
    message = page.locator("#feedback")
    expect(message).to_contain_text("arrondissement")
    expect(message).to_contain_text("75056")
    expect(message).to_contain_text("04999")
    expect(message).to_contain_text("ABCDE")
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    assert "#c=04121" in page.url
    assert_clean(page)
