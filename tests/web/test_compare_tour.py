"""Two perimeters side by side, and the built-in guided tour, at desktop and phone sizes (issue 13).

The comparison keeps Estoublon + Mézel as perimeter A, adds two communes by search (perimeter B), and checks
every published difference against the API's own figures, the cells hidden by secrecy (never a difference),
the map's two colours (pixels of the rendered canvas), and the CSV's columns. The tour appears on a first
visit, is walked with the keyboard, stays dismissed after a reload, and opens again from the help button.
axe-core runs on each new state (0 serious or critical violations).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from .browser import api_get, assert_accessible, assert_clean
from .test_journey import add_by_search, download, text, wait_map

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
A_CODES = ["04084", "04121"]  # Estoublon, Mézel
B_EXTRA = [("Saint-Jeannet", "04181"), ("Beynes", "04028")]
# web/js/perimeters.js
REFERENCE_RGB = (0xB3, 0x47, 0x00)
SELECTION_RGB = (0x1F, 0x4E, 0x9C)
SECTIONS = ("access", "prevention", "vaccination")


def fr_diff(value: float, unit: str) -> str:
    """web/js/format.js diff(): signed, decimal comma, « pt » for rates."""
    sign = "+" if value > 0 else "−" if value < 0 else ""
    body = f"{abs(value):.1f}".replace(".", ",")
    return f"{sign}{body} pt" if unit == "pct" else f"{sign}{body}"


def near(shot: bytes, rgb: tuple[int, int, int], tolerance: int = 30) -> int:
    """Pixels of a PNG within `tolerance` of `rgb` on every channel."""
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tolerance).sum())


@pytest.mark.parametrize("size", list(SIZES))
def test_compare_two_perimeters(
    open_page, gateway_url: str, artifacts_dir: Path, tmp_path: Path, size: str
) -> None:
    shots = artifacts_dir / "web" / "compare"
    shots.mkdir(parents=True, exist_ok=True)
    page = open_page(f"{gateway_url}/#c={','.join(A_CODES)}", viewport=SIZES[size])
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    card = page.locator("#compare")
    expect(card).to_be_visible()
    card.scroll_into_view_if_needed()
    assert_accessible(page, "compare", include=["#compare"], tags=None)
    page.locator("#compare-keep").click()
    expect(page.locator("#compare-status")).to_contain_text("Périmètre A gardé (2 commune(s))")
    for query, code in B_EXTRA:
        add_by_search(page, query, code, keyboard=False)
    b_codes = A_CODES + [code for _, code in B_EXTRA]
    legend = page.locator("#compare-legend")
    expect(legend).to_contain_text("Périmètre A (gardé) : 2 commune(s)")
    expect(legend).to_contain_text("Périmètre B (sélection actuelle) : 4 commune(s)")

    # The map: perimeter A in its dashed orange, B in blue, both on the canvas.
    page.locator("#zoom-selection").click()
    if size == "phone":  # the bottom sheet covers the map: fold it, as a user would to look at the map
        for _ in range(3):
            if page.locator("#sidebar").get_attribute("data-sheet") == "collapsed":
                break
            page.locator("#panel-toggle").click()
        expect(page.locator("#sidebar")).to_have_attribute("data-sheet", "collapsed")
    page.wait_for_timeout(800)
    wait_map(page)
    with_reference = page.locator("#map").screenshot()
    (shots / f"{size}-map-two-colours.png").write_bytes(with_reference)
    orange, blue = near(with_reference, REFERENCE_RGB), near(with_reference, SELECTION_RGB)
    assert orange > 200 and blue > 200, (orange, blue)
    if size == "phone":
        page.locator("#panel-toggle").click()
        expect(page.locator("#sidebar")).not_to_have_attribute("data-sheet", "collapsed")

    # Two columns and the difference, against the API's published values.
    page.locator("#compare-open").click()
    dialog = page.locator("#compare-dialog")
    expect(dialog).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator("#compare-close")).to_be_focused()
    page.screenshot(path=shots / f"{size}-dialog.png")
    assert_accessible(page, "compare-dialog", include=["#compare-dialog"], tags=None)
    overflowing = dialog.locator(".table-wrap").evaluate_all(
        "els => els.filter((e) => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert overflowing == 0, f"{overflowing} comparison table(s) scroll sideways at {size}"
    sum_a = api_get(gateway_url, f"/api/v1/territory/summary?communes={','.join(A_CODES)}")
    sum_b = api_get(gateway_url, f"/api/v1/territory/summary?communes={','.join(b_codes)}")
    row = dialog.locator("tr[data-row=population]")
    assert text(row.locator("td.d")) == f"+{sum_b['population'] - sum_a['population']:,}".replace(",", " ")
    diag_a = api_get(gateway_url, f"/api/v1/territory?communes={','.join(A_CODES)}")
    diag_b = api_get(gateway_url, f"/api/v1/territory?communes={','.join(b_codes)}")
    published = hidden = 0
    for section in SECTIONS:
        by_id = {i["id"]: i for i in diag_a[section]}
        for ind_b in diag_b[section]:
            ind_a = by_id[ind_b["id"]]
            cells = dialog.locator(f"tr[data-row='{ind_b['id']}']")
            expect(cells).to_have_count(1)
            shown_diff = text(cells.locator("td.d"))
            if ind_a["status"] == ind_b["status"] == "publie":
                published += 1
                assert shown_diff == fr_diff(round(ind_b["value"] - ind_a["value"], 1), ind_b["unit"]), ind_b[
                    "id"
                ]
            else:
                hidden += 1
                assert shown_diff == "–", (ind_b["id"], shown_diff)
                for ind, col in ((ind_a, "td.a"), (ind_b, "td.b")):
                    if ind["status"] == "secret":
                        value = text(cells.locator(col))
                        assert value == "secret statistique" and not re.search(r"\d", value), (
                            ind["id"],
                            value,
                        )
    assert published > 0 and hidden > 0, (published, hidden)  # both paths of the rule are exercised

    # The CSV: both columns and the difference, the hidden cells as words.
    csv_path = tmp_path / "comparaison.csv"
    download(page, lambda: page.locator("#compare-csv").click(), "#compare-csv-status").save_as(csv_path)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Rubrique;Indicateur;Unité;Périmètre A;Périmètre B;Écart B − A"
    rows = {
        tuple(line.split(";")[:2]): line.split(";") for line in lines[1:] if line and not line.startswith("#")
    }
    pop = rows[("Synthèse", "Habitants")]
    assert pop[3:] == [
        str(sum_a["population"]),
        str(sum_b["population"]),
        f"{sum_b['population'] - sum_a['population']}",
    ]
    assert any(r[3] == "secret statistique" or r[4] == "secret statistique" for r in rows.values())
    assert all(r[5] == "" for r in rows.values() if "secret statistique" in (r[3], r[4]))
    titles = {
        "access": "Accès aux soins",
        "prevention": "Prévention",
        "vaccination": "Prévention – vaccination",
    }
    checked = 0
    for section in SECTIONS:
        by_id = {i["id"]: i for i in diag_a[section]}
        for ind_b in diag_b[section]:
            ind_a, line = by_id[ind_b["id"]], rows[(titles[section], ind_b["label"])]
            if ind_a["status"] == ind_b["status"] == "publie":
                checked += 1
                assert float(line[5].replace(",", ".")) == round(ind_b["value"] - ind_a["value"], 1), line
            else:
                assert line[5] == "", line
    assert checked > 0
    # Spreadsheets read "-1,5" as a number, not "−1,5" (Intl's French minus sign).
    assert not any("\u2212" in cell for r in rows.values() for cell in r[3:]), "U+2212 in a value"
    assert any(line.startswith("# Périmètre A : 04084 04121") for line in lines)
    assert "# données de démonstration" in raw.decode("utf-8-sig")

    # Escape closes; stopping the comparison takes the orange away from the map.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator("#compare-stop").click()
    expect(page.locator("#compare-open")).to_be_hidden()
    page.wait_for_timeout(500)
    wait_map(page)
    without = page.locator("#map").screenshot()
    assert near(without, REFERENCE_RGB) < orange / 4, (near(without, REFERENCE_RGB), orange)
    assert_clean(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_first_visit_tour(open_page, gateway_url: str, artifacts_dir: Path, size: str) -> None:
    shots = artifacts_dir / "web" / "tour"
    shots.mkdir(parents=True, exist_ok=True)
    page = open_page(gateway_url + "/", viewport=SIZES[size], tour=True)
    tour = page.locator("#tour-dialog")
    expect(tour).to_be_visible()
    expect(tour).to_have_attribute("data-step", "1")
    expect(page.locator("#tour-title")).to_contain_text("Étape 1 sur 5")
    expect(tour.get_by_role("button", name="Suivant")).to_be_focused()
    page.screenshot(path=shots / f"{size}-step1.png")
    assert_accessible(page, "tour-dialog", include=["#tour-dialog"], tags=None)
    # Keyboard only: Enter on the focused « Suivant » four times, then « Terminer la visite ».
    titles = []
    for step in range(2, 6):
        page.keyboard.press("Enter")
        expect(tour).to_have_attribute("data-step", str(step))
        titles.append(text(page.locator("#tour-title")))
    assert [t.split(" – ")[1] for t in titles] == [
        "Les communes du projet",
        "Le diagnostic",
        "Le rapport",
        "Sauvegarder et partager",
    ]
    finish = tour.get_by_role("button", name="Terminer la visite")
    expect(finish).to_be_focused()
    page.screenshot(path=shots / f"{size}-step5.png")
    page.keyboard.press("Enter")
    expect(tour).to_be_hidden()
    expect(page.locator("#search-input")).to_be_focused()
    assert page.evaluate("localStorage.getItem('rezone.visite-guidee')") == "vue"

    # Remembered: no tour after a reload; the help button opens it again, Escape closes it.
    page.reload()
    wait_map(page)
    expect(tour).to_be_hidden()
    help_button = page.get_by_role("button", name="Aide : visite guidée")
    if size == "phone":  # behind « Aide et glossaires »
        page.locator("#header-menu").click()
    help_button.click()
    expect(tour).to_be_visible()
    expect(tour).to_have_attribute("data-step", "1")
    page.keyboard.press("Escape")
    expect(tour).to_be_hidden()
    expect(help_button).to_be_focused()
    assert_clean(page)
