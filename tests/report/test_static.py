"""Static guarantees of the report package: templates never evaluate data, fonts are bundled and licensed."""

from __future__ import annotations

import re

import asyncpg
import pytest

from services.report import maplayout, mapplan, queries
from services.report.render import FONTS_DIR, TEMPLATES_DIR, Renderer

from .conftest import MULTI


def test_templates_take_data_only_from_sys_inputs():
    sources = {p.name: p.read_text(encoding="utf-8") for p in TEMPLATES_DIR.glob("*.typ")}
    assert set(sources) == {"report.typ", "lib.typ"}
    for name, text in sources.items():
        code = "\n".join(ln.split("//", 1)[0] for ln in text.splitlines())  # comments may name what is banned
        for banned in (
            "@preview",
            "@local",
            "eval(",
            "read(",
            "#include",
            "plugin(",
            "csv(",
            "yaml(",
            "toml(",
        ):
            assert banned not in code, (name, banned)
        for m in re.finditer(r"#import\s+\"([^\"]+)\"", code):
            assert m.group(1) == "lib.typ", (name, m.group(1))
    code = "\n".join(ln.split("//", 1)[0] for ln in sources["report.typ"].splitlines())
    assert code.count("sys.inputs") == 1
    assert "json(bytes(sys.inputs.data))" in code


def test_templates_folder_holds_only_templates():
    # The compile root: nothing else may be readable from a template, and no symlink may lead out of it.
    entries = list(TEMPLATES_DIR.iterdir())
    assert {p.suffix for p in entries} == {".typ"}
    assert not any(p.is_symlink() for p in entries)


def test_fonts_are_bundled_with_their_licences():
    renderer = Renderer(max_parallel=1, max_queued=0, timeout_s=5)
    assert set(renderer.families) == {
        "Liberation Sans",
        "DejaVu Sans",
        "Noto Color Emoji",
        "Noto Sans Symbols2",
    }
    assert (FONTS_DIR / "LICENSE-LiberationSans.txt").read_text().count("SIL") >= 1
    assert "Bitstream" in (FONTS_DIR / "LICENSE-DejaVuSans.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONTS_DIR / "LICENSE-Noto.txt").read_text()
    # the template's fallback chain names exactly the bundled families
    template = (TEMPLATES_DIR / "report.typ").read_text()
    for family in renderer.families:
        assert f'"{family}"' in template, family


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    ("codes", "panels", "epsg"),
    [
        (MULTI, 3, {2154}),
        (["13041", "13060"], 1, {2154}),
        (["97411", "97209", "97101"], 3, {2975, 5490}),
        (["97611"], 1, {4471}),
        (["97302"], 1, {2972}),
    ],
)
async def test_map_panels_per_disjoint_part_in_local_projection(database_url, codes, panels, epsg):
    conn = await asyncpg.connect(database_url)
    try:
        shapes = await queries.selected_shapes(conn, codes)
    finally:
        await conn.close()
    plan = mapplan.plan(shapes)
    assert len(plan.frames) == panels
    assert {f.epsg for f in plan.frames} == epsg
    assert sorted(c for f in plan.frames for c in f.codes) == sorted(codes)
    for f in plan.frames:
        lon0, lat0, lon1, lat1 = f.envelope_4326()
        assert lon0 < lon1 and lat0 < lat1
        # the territory fills its panel (mapplan: a lone panel between 0.45 and 2.5; maplayout widens panels
        # of several parts down to MIN_RATIO to fill their row)
        assert maplayout.MIN_RATIO - 1e-6 <= (f.maxy - f.miny) / (f.maxx - f.minx) <= 2.5
        assert f.width_mm <= 178 and f.height_mm <= 200.01


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("codes", [["2A004", "97411"], ["97411", "97209"], MULTI])
async def test_scattered_parts_fill_the_map_space(database_url, codes):
    # Far-apart parts (Corse-du-Sud + La Réunion, two DOM, the seed's three parts): rows of panels that fill
    # the text width and the map's height budget, never small drawings beside empty paper.
    conn = await asyncpg.connect(database_url)
    try:
        shapes = await queries.selected_shapes(conn, codes)
    finally:
        await conn.close()
    plan = mapplan.plan(shapes)
    cells = [(f.row, f.width_mm, f.height_mm) for f in plan.frames]
    if plan.overview is not None:
        cells.append((plan.overview.row, plan.overview.width_mm, plan.overview.height_mm))
    rows = sorted({r for r, _, _ in cells})
    assert rows == list(range(len(rows)))
    used = 0.0
    for r in rows:
        row = [(w, h) for rr, w, h in cells if rr == r]
        width = sum(w for w, _ in row) + maplayout.GUTTER_MM * (len(row) - 1)
        assert width <= maplayout.WIDTH_MM + 0.01
        # a row is as wide as the text unless its panels reached the widest shape allowed
        assert width >= maplayout.WIDTH_MM - 0.5 or all(
            h / w <= maplayout.MIN_RATIO + 1e-6 for w, h in row
        ), (r, row)
        used += max(h for _, h in row) + maplayout.TITLE_MM
    used += maplayout.GUTTER_MM * (len(rows) - 1)
    assert used <= maplayout.HEIGHT_MM + 0.01
    # the panels together cover most of the map's space (two half-width panels covered a third of it)
    area = sum(w * h for _, w, h in cells)
    assert area >= 0.5 * maplayout.WIDTH_MM * maplayout.HEIGHT_MM, cells
