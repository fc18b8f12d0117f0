"""The style renders in a real MapLibre page (headless Debian Chromium); screenshots kept as artifacts."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops

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
    lib: str = "maplibre-gl",
) -> tuple[dict, list[str]]:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems: list[str] = []
    glyphs: list[int] = []
    page.on("response", lambda r: "/tiles/glyphs/" in r.url and glyphs.append(r.status))
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
        f"&lon={lon}&lat={lat}&zoom={zoom}&lib={lib}"
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
                selected: communes.filter(f => f.state.selected).length, errors: window.mapErrors,
                version: window.mapVersion};
    }""")
    page.screenshot(path=str(shot))
    # The same view without its label layers: what the labels alone drew (0 if no glyph was placed).
    page.evaluate("""() => { const m = window.rezoneMap;
        for (const l of m.getStyle().layers)
            if (l.type === 'symbol') m.setLayoutProperty(l.id, 'visibility', 'none');
        window.mapIdle = false; m.once('idle', () => { window.mapIdle = true; }); m.triggerRepaint(); }""")
    page.wait_for_function("window.mapIdle === true", timeout=30_000)
    bare = shot.with_name(shot.stem + "-sans-etiquettes.png")
    page.screenshot(path=str(bare))
    page.close()
    summary["glyphs"] = glyphs
    summary["label_pixels"] = _changed_pixels(shot, bare)
    summary["colours"] = len(Image.open(shot).convert("RGB").getcolors(1 << 20) or ())
    return summary, problems + summary["errors"] + [f"external request: {u}" for u in external]


def _changed_pixels(a: Path, b: Path) -> int:
    diff = ImageChops.difference(Image.open(a).convert("RGB"), Image.open(b).convert("RGB")).convert("L")
    return sum(diff.point(lambda v: 255 if v > 40 else 0).histogram()[255:])


@pytest.mark.parametrize(
    ("lib", "major"), [("maplibre-gl-4", "4."), ("maplibre-gl-5", "5."), ("maplibre-gl", "6.")]
)
def test_style_renders_labels_in_every_maplibre(browser, page_origin, tiles_url, artifacts_dir, lib, major):
    """GL JS 4 and 5 draw no label without a `glyphs` URL: ours, served by the tiles service, must do."""
    shot = artifacts_dir / f"tiles-{lib}-lyon-z10.png"
    summary, problems = _render(browser, page_origin, tiles_url, 4.84, 45.76, 10.2, shot, lib=lib)
    assert problems == []
    assert summary["version"].startswith(major)
    assert summary["glyphs"] and set(summary["glyphs"]) == {200}, summary["glyphs"]
    assert summary["count"].get("communes_label", 0) > 10  # placed symbols: their glyphs were drawn
    assert summary["count"].get("communes", 0) > 50 and summary["count"].get("finess", 0) > 0
    assert summary["colours"] > 50  # not a blank canvas
    assert summary["label_pixels"] > 2000, summary["label_pixels"]


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


DOC = ROOT / "docs" / "tiles.md"
_HOST = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/web/node_modules/maplibre-gl/dist/maplibre-gl.css">
<style>html, body, #map {{ margin: 0; width: 100%; height: 100%; }}</style>
{scripts}</head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from "/web/node_modules/maplibre-gl/dist/maplibre-gl.mjs";
const map = new maplibregl.Map({{container: "map", center: [4.84, 45.76], zoom: 10, fadeDuration: 0,
  style: {{version: 8, sources: {{}}, layers: [{{id: "fond", type: "background",
  paint: {{"background-color": "#ffffff"}}}}]}}}});
window.rezoneMap = map;
{snippet}
</script></body></html>
"""


def embedding_snippets() -> list[str]:
    """The code blocks of docs/tiles.md's section on embedding, in order."""
    section = DOC.read_text().split("## Embedding in another portal", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:html|js)\n(.*?)```", section, re.S)


def test_docs_embedding_snippets_are_short():
    snippets = embedding_snippets()
    assert len(snippets) == 3
    assert all(len(s.strip().splitlines()) <= 20 for s in snippets), [len(s.splitlines()) for s in snippets]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["style", "source", "pmtiles"])
def test_docs_embedding_snippets_render(browser, page_origin, tiles_url, artifacts_dir, which):
    """Each way to embed of docs/tiles.md, verbatim but for the origin and the node_modules path."""
    snippet = embedding_snippets()[which].replace("https://rezone.example", tiles_url)
    snippet = snippet.replace('"/node_modules/', '"/web/node_modules/')
    if which == 0:  # a whole page: keep a handle on its map; no favicon request (a 404 console error)
        html = '<link rel="icon" href="data:,">\n' + snippet
        html = html.replace("new maplibregl.Map(", "window.rezoneMap = new maplibregl.Map(")
        layer = None
    else:
        # The script tags a snippet names in its comment (the PMTiles reader's UMD build).
        scripts = re.findall(r"^// After loading (\S+\.js) by a classic script tag", snippet, re.M)
        tags = "\n".join(
            f'<script src="{src.replace("/node_modules/", "/web/node_modules/")}"></script>'
            for src in scripts
        )
        html = _HOST.format(snippet=snippet, scripts=tags)
        layer = re.search(r'id: "(rezone-[a-z]+)"', snippet).group(1)
    page_file = artifacts_dir / f"embed-{which}.html"
    page_file.write_text(html)
    page = browser.new_page(viewport={"width": 800, "height": 600})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{page_origin}/tests/artifacts/{page_file.name}")
    page.wait_for_function(
        "(l) => { const m = window.rezoneMap; return m && (!l || m.getLayer(l)) && m.loaded()"
        " && m.areTilesLoaded(); }",
        arg=layer,
        timeout=60_000,
    )
    page.wait_for_timeout(300)
    found = page.evaluate(
        """(l) => { const m = window.rezoneMap, fs = m.queryRenderedFeatures(l ? {layers: [l]} : undefined);
        return {n: fs.length, symbols: fs.filter(f => f.layer.type === 'symbol').length,
                attribution: document.querySelector('.maplibregl-ctrl-attrib')?.textContent || '',
                source: l ? m.getSource(m.getLayer(l).source).attribution || '' : ''}; }""",
        layer,
    )
    page.screenshot(path=str(artifacts_dir / f"tiles-embed-{which}.png"))
    page.close()
    assert problems == []
    assert found["n"] > 0
    if which == 0:
        assert found["symbols"] > 0  # labels, from our glyphs
    assert "données de démonstration" in found["attribution"]
    assert which == 0 or "données de démonstration" in found["source"]
