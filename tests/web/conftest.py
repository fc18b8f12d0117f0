"""The whole stack (tiles, aggregate, report, gateway as real processes) and a real headless Chromium.

Every page opened through `open_page` records console errors, uncaught exceptions and CSP violations
(`securitypolicyviolation` events, collected by an init script, which the DevTools protocol injects outside
the page's CSP); `assert_clean(page)` fails the test on any of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from deploy.local.cluster import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 860}

_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
                               line: e.lineNumber, sample: e.sample});
});
"""

# The key and value of web/js/tour.js (SEEN_KEY): a returning visitor.
_TOUR_SEEN = "try { localStorage.setItem('rezone.visite-guidee', 'vue'); } catch (e) {}"


@pytest.fixture(scope="session")
def stack(run_service) -> dict[str, str]:
    """Base URLs of the four services; the browser only ever talks to the gateway."""
    gateway_port = free_port()
    # In the stack the gateway is the public entry: TileJSON and style URLs name its origin.
    tiles = run_service("services.tiles", {"REZONE_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}"})
    aggregate = run_service("services.aggregate")
    report = run_service("services.report", {"REZONE_REPORT_AGGREGATE_URL": aggregate})
    gateway_env = {
        "REZONE_GATEWAY_PORT": str(gateway_port),
        "REZONE_GATEWAY_TILES_URL": tiles,
        "REZONE_GATEWAY_AGGREGATE_URL": aggregate,
        "REZONE_GATEWAY_REPORT_URL": report,
    }
    # REZONE_TEST_WEB_DIR serves another web/ tree (e.g. main's, extracted with `git archive`) to the same
    # tests: how docs/web.md shows that each defect test fails before its fix.
    if os.environ.get("REZONE_TEST_WEB_DIR"):
        gateway_env["REZONE_GATEWAY_WEB_DIR"] = os.environ["REZONE_TEST_WEB_DIR"]
    gateway = run_service("gateway", gateway_env)
    return {"tiles": tiles, "aggregate": aggregate, "report": report, "gateway": gateway}


@pytest.fixture(scope="session")
def gateway_url(stack: dict[str, str]) -> str:
    """The public entry point the page is loaded from.

    REZONE_TEST_GATEWAY_URL loads the page from a stack already running instead (e.g. an older commit's whole
    tree started with `make up`): how docs/web.md shows a defect whose fix lay in the API's data, not in web/,
    failing before its fix. Tests that also read the database still read this session's.
    """
    return os.environ.get("REZONE_TEST_GATEWAY_URL", stack["gateway"]).rstrip("/")


@pytest.fixture(scope="session")
def browser(stack: dict[str, str]) -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (its own browser download does not work here).

    Depends on `stack` so that the services (whose fixtures run asyncio loops) start before Playwright's
    synchronous API installs its own loop in this thread.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/bootstrap.sh test")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageLog:
    """What went wrong in one page: console errors and uncaught exceptions.

    Chromium logs every HTTP error answer as a console error; a test that provokes one on purpose (a refused
    file upload) names the URL path in `expected_http_errors`, and only those are let through.
    """

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.expected_http_errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if msg.text.startswith("Failed to load resource") and any(
            p in url for p in self.expected_http_errors
        ):
            return
        self.errors.append(f"console.error: {msg.text} ({url})")


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """`open_page(url, viewport=…, tour=False)`: a fresh context per call (no shared storage or cache).

    The first-visit tour is marked as seen unless `tour=True` (tests/web/test_compare_tour.py drives it).
    """
    contexts: list[BrowserContext] = []

    def make(url: str, viewport: dict | None = None, tour: bool = False) -> Page:
        context = browser.new_context(viewport=viewport or VIEWPORT, accept_downloads=True, locale="fr-FR")
        context.add_init_script(_RECORDER)
        if not tour:
            context.add_init_script(_TOUR_SEEN)
        contexts.append(context)
        page = context.new_page()
        page.rezone_log = PageLog(page)  # type: ignore[attr-defined]
        page.goto(url)
        return page

    yield make
    for context in contexts:
        context.close()
