"""The style renders in a real MapLibre page (headless Debian Chromium); screenshots kept as artifacts."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPLIBRE = ROOT / "web" / "node_modules" / "maplibre-gl" / "dist" / "maplibre-gl.mjs"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not MAPLIBRE.exists(), reason="web/node_modules missing: run scripts/bootstrap.sh"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: scripts/bootstrap.sh test"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def log_message(self, *args) -> None:  # noqa: D102
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """A static server for the test page and MapLibre, on another origin than the tiles service (CORS)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(ROOT)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's Chromium driven by Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
            ],
        )
        yield b
        b.close()


def _render(
    browser,
    page_origin: str,
    tiles_url: str,
    lon: float,
    lat: float,
    zoom: float,
    shot: Path,
    select: list[int] = (),
) -> tuple[dict, list[str]]:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    external: list[str] = []
    page.on(
        "request",
        lambda r: (
            external.append(r.url)
            if not r.url.startswith((page_origin, tiles_url, "data:", "blob:"))
            else None
        ),
    )
    page.goto(
        f"{page_origin}/tests/tiles/map.html?style={tiles_url}/styles/rezone.json"
        f"&lon={lon}&lat={lat}&zoom={zoom}"
    )
    page.wait_for_function("window.mapIdle === true", timeout=60_000)
    if select:
        page.evaluate(
            """ids => { for (const id of ids) window.rezoneMap.setFeatureState(
            {source: 'admin', sourceLayer: 'communes', id}, {selected: true}); }""",
            list(select),
        )
        page.wait_for_function("window.rezoneMap.loaded()", timeout=30_000)
        page.wait_for_timeout(300)
    summary = page.evaluate("""() => {
        const m = window.rezoneMap, count = {};
        for (const f of m.queryRenderedFeatures()) count[f.sourceLayer] = (count[f.sourceLayer] || 0) + 1;
        const communes = m.queryRenderedFeatures({layers: ['communes-fill']});
        return {count, communeIds: communes.map(f => f.id),
                communeCodes: communes.map(f => f.properties.code),
                selected: communes.filter(f => f.state.selected).length, errors: window.mapErrors};
    }""")
    page.screenshot(path=str(shot))
    page.close()
    return summary, problems + summary["errors"] + [f"external request: {u}" for u in external]


def test_style_renders_paris_with_selected_communes(browser, page_origin, tiles_url, artifacts_dir):
    paris_ids = [75101, 75102, 75103, 75104]  # ref.communes.id = the INSEE code read as an integer
    summary, problems = _render(
        browser,
        page_origin,
        tiles_url,
        2.35,
        48.86,
        10.5,
        artifacts_dir / "tiles-paris-z10.png",
        select=paris_ids,
    )
    assert problems == []
    assert summary["count"].get("communes", 0) > 50
    assert "75104" in summary["communeCodes"] and "75056" not in summary["communeCodes"]
    assert summary["selected"] >= 4
    assert summary["count"].get("finess", 0) > 0
    assert summary["count"].get("communes_label", 0) > 0


def test_style_renders_the_national_overview(browser, page_origin, tiles_url, artifacts_dir):
    shot = artifacts_dir / "tiles-france-z5.png"
    summary, problems = _render(browser, page_origin, tiles_url, 2.6, 46.6, 5, shot)
    assert problems == []
    assert summary["count"].get("departements", 0) >= 90
    assert summary["count"].get("regions", 0) >= 12
    assert summary["count"].get("finess_clusters", 0) > 0
