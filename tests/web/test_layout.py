"""The journey at four screen sizes (phone, tablet, laptop, large screen) with axe-core at every step: no
horizontal page scroll, every control reachable, 0 serious or critical violation; grouped chips and the
comparison of two perimeters (two columns, two colours on the map) are part of it; screenshots and axe
results in tests/artifacts/web/sizes/<size>/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import assert_accessible, assert_clean
from .test_compare_tour import REFERENCE_RGB, SELECTION_RGB, near
from .test_journey import add_by_search, wait_map

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1440, 900), "wide": (2560, 1440)}


# Every control on screen, cut off at neither side: the box of each rendered button, link, field, summary
# and focusable region lies within the viewport's width. Left out: folded or inert content, the skip link
# (on screen when focused), and what sits inside a table's own scrolling region (checked as a region).
_CUT_OFF = """(width) => [...document.querySelectorAll(
    'button, a[href], input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  .filter((e) => !e.closest('[inert], [hidden], .visually-hidden, .skip-link')
    && !e.closest('details:not([open]) > :not(summary)')
    && !e.parentElement.closest('.table-wrap') && e.getClientRects().length
    && getComputedStyle(e).visibility === 'visible')
  .map((e) => [e.id || e.className || e.tagName, e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.left < -1 || r.right > width + 1))
  .map(([name, r]) => `${name}: ${Math.round(r.left)}–${Math.round(r.right)}`)"""


def no_horizontal_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(_CUT_OFF, width) == []


def step(page: Page, name: str, width: int, shots: Path) -> None:
    no_horizontal_scroll(page, width)
    assert_accessible(page, name, shots)
    page.screenshot(path=shots / f"{name}.png")


def show_panel(page: Page) -> None:
    """On phone and tablet the panel may be folded: open it fully (the button cycles the heights)."""
    toggle = page.locator("#panel-toggle")
    tablet = (page.viewport_size or {}).get("width", 0) >= 640
    for _ in range(3):
        state = page.locator("#sidebar").get_attribute("data-sheet")
        if not toggle.is_visible() or state == "full" or (tablet and state == "peek"):
            return
        toggle.click()


def fold_panel(page: Page) -> None:
    """On a phone, fold the sheet down to its handle so that the tabs and the map are in reach."""
    if (page.viewport_size or {}).get("width", 0) >= 640:
        return
    for _ in range(3):
        if page.locator("#sidebar").get_attribute("data-sheet") == "collapsed":
            return
        page.locator("#panel-toggle").click()


def compare_two_perimeters(page: Page, width: int, shots: Path) -> None:
    """The three communes kept as perimeter A, Mézel added: B; both side by side with the difference, no table
    scrolling sideways. A stays kept (and drawn on the map) for the rest of the journey."""
    keep = page.locator("#compare-keep")
    keep.scroll_into_view_if_needed()
    keep.click()
    expect(page.locator("#compare-status")).to_contain_text("Périmètre A gardé (3 commune(s))")
    add_by_search(page, "Mézel", "04121", keyboard=True)
    page.keyboard.press("Escape")
    legend = page.locator("#compare-legend")
    expect(legend).to_contain_text("Périmètre B (sélection actuelle) : 4 commune(s)")
    legend.scroll_into_view_if_needed()
    step(page, "04-compare-card", width, shots)
    opener = page.locator("#compare-open")
    opener.click()
    dialog = page.locator("#compare-dialog")
    expect(dialog).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(dialog.locator("tr[data-row=communes] td.d")).to_have_text("+1")
    step(page, "05-compare-dialog", width, shots)
    overflowing = dialog.locator(".table-wrap").evaluate_all(
        "els => els.filter((e) => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert overflowing == 0, f"{overflowing} comparison table(s) scroll sideways"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


@pytest.mark.parametrize("size", list(SIZES))
def test_journey_at_every_size(open_page, gateway_url: str, artifacts_dir: Path, size: str) -> None:
    width, height = SIZES[size]
    shots = artifacts_dir / "web" / "sizes" / size
    shots.mkdir(parents=True, exist_ok=True)
    page = open_page(gateway_url + "/", viewport={"width": width, "height": height})
    wait_map(page)
    expect(page.locator("#map")).to_be_visible()
    step(page, "01-start", width, shots)

    show_panel(page)
    add_by_search(page, "Saint-Jeannet", "04181", keyboard=True)
    add_by_search(page, "Beynes", "78062", keyboard=False)
    add_by_search(page, "Estoublon", "04084", keyboard=True)
    page.keyboard.press("Escape")
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator("#feedback")).to_contain_text("Estoublon")
    step(page, "02-selection", width, shots)

    # Grouped chips: one line per département with its count, unfolded one département at a time.
    page.get_by_role("button", name="Grouper", exact=True).click()
    expect(page.locator("#chips li.chip:visible")).to_have_count(0)
    folds = page.locator("#chips button[aria-expanded]")
    expect(folds).to_have_count(2)  # 04 (Saint-Jeannet, Estoublon) and 78 (Beynes)
    expect(folds.filter(has_text="Alpes-de-Haute-Provence")).to_contain_text("2 communes")
    step(page, "03-chips-grouped", width, shots)
    folds.filter(has_text="Yvelines").click()
    expect(page.locator("#chips li.chip:visible")).to_have_count(1)
    folds.filter(has_text="Alpes-de-Haute-Provence").click()
    expect(page.locator("#chips li.chip:visible")).to_have_count(3)
    expect(page.locator("#chips-grouping")).to_have_text("Grouper")  # all unfolded again
    step(page, "03-chips-ungrouped", width, shots)

    compare_two_perimeters(page, width, shots)

    for panel in ("panel-population", "panel-missions", "panel-offre"):
        summary = page.locator(f"#{panel} > summary")
        summary.scroll_into_view_if_needed()
        summary.click()
        expect(page.locator(f"#{panel} .accordion-body table").first).to_be_visible(timeout=30_000)
        page.locator(f"#{panel}").scroll_into_view_if_needed()
        step(page, f"06-{panel}", width, shots)
        summary.click()

    fold_panel(page)
    for tab, name in (("Rapport dynamique", "07-rapport"), ("Pour aller plus loin", "08-plus-loin")):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        step(page, name, width, shots)
    page.get_by_role("tab", name="Carte").click()
    page.get_by_role("button", name="Zoomer sur la sélection").click()
    expect(page.locator("#zoom-parts")).to_be_visible()  # 04 here, 78 offered
    wait_map(page)
    step(page, "09-zoom-two-perimeters", width, shots)
    drawn = page.locator("#map").screenshot()  # A's dashed orange outline over B's blue fill
    assert near(drawn, REFERENCE_RGB) > 200 and near(drawn, SELECTION_RGB) > 200

    for doc, name in (("donnees", "10-donnees"), ("accessibilite", "11-accessibilite")):
        show_panel(page)  # the footer's pages are at the end of the panel
        button = page.locator(f"[data-doc={doc}]")
        if not button.is_visible():  # a phone: the header's pages are behind « Aide et glossaires »
            page.locator("#header-menu").click()
        button.scroll_into_view_if_needed()
        button.click()
        expect(page.locator("#doc-dialog")).to_be_visible()
        step(page, name, width, shots)
        page.locator("#doc-close").click()

    show_panel(page)
    pdf = page.locator("#download-pdf")
    pdf.scroll_into_view_if_needed()
    expect(pdf).to_be_visible()
    expect(page.locator("#pdf-progress")).to_be_hidden()
    step(page, "12-downloads", width, shots)
    stop = page.locator("#compare-stop")
    stop.scroll_into_view_if_needed()
    stop.click()
    expect(page.locator("#compare-open")).to_be_hidden()
    # The main controls are there to scroll to (every step checked that none is cut off at the sides).
    for selector in (
        "#search-input",
        "#download-pdf",
        "#download-csv",
        "#save-project",
        "#compare-keep",
        "#tab-rapport",
    ):
        expect(page.locator(selector)).to_be_visible()
    assert_clean(page)


# The tab under a point at the middle of each tab: the tab itself, or what covers it.
_COVERING = """() => [...document.querySelectorAll('[role=tab]')].map((t) => {
  const r = t.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return [t.id, hit && (hit.closest('[role=tab]') || hit.closest('[id]') || hit).id];
})"""


@pytest.mark.parametrize("viewport", [(390, 844), (360, 640), (320, 568)])
def test_raised_sheet_leaves_the_tabs_in_reach(
    open_page, gateway_url: str, viewport: tuple[int, int]
) -> None:
    """On a phone, the sheet raised to its full height (with a selection: the summary line is shown) stops
    under the tab bar: every tab is on top at its centre, « Rapport dynamique » opens without folding it."""
    width, height = viewport
    page = open_page(f"{gateway_url}/#c=04121,04084,06122", viewport={"width": width, "height": height})
    expect(page.locator("#summary-line")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator("#demo-banner")).to_be_visible()
    show_panel(page)
    sheet = page.locator("#sidebar")
    expect(sheet).to_have_attribute("data-sheet", "full")
    page.wait_for_timeout(400)  # the height's transition (.2 s)
    top = sheet.evaluate("(e) => e.getBoundingClientRect().top")
    bar = page.locator(".tabs-bar").evaluate("(e) => e.getBoundingClientRect().bottom")
    assert top >= bar - 1, f"the sheet's top {top:.0f} px is over the tab bar, which ends at {bar:.0f} px"
    # The header and the banner fold down to a line each (before, with this selection, the tabs ended at 352
    # of 640 px and 408 of 568; now at 241).
    assert bar <= 0.45 * height, f"the header, the banner and the tabs take {bar:.0f} of {height} px"
    assert page.evaluate(_COVERING) == [[t, t] for t in ("tab-carte", "tab-rapport", "tab-plus")]
    page.get_by_role("tab", name="Rapport dynamique").click(timeout=5_000)  # waits while something covers it
    expect(page.get_by_role("tab", name="Rapport dynamique")).to_have_attribute("aria-selected", "true")
    # The folded links: one button opens them; a page opened from them gives the focus back to its link.
    menu, link = page.locator("#header-menu"), page.locator("[data-doc=sigles]")
    expect(link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    link.click()
    expect(page.locator("#doc-dialog")).to_be_visible()
    page.locator("#doc-close").click()
    expect(link).to_be_focused()
    page.keyboard.press("Escape")
    expect(link).to_be_hidden()
    expect(menu).to_be_focused()
    assert_clean(page)
