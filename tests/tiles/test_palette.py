"""One palette for the FINESS groups: ref.finess_groups.colour, read by the tile style and the PDF map."""

from __future__ import annotations

import asyncpg
import pytest

from services.report.mapsvg import SHAPES
from services.report.queries import finess_points

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _palette(database_url: str) -> dict[str, tuple[str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT key, colour, sector FROM ref.finess_groups ORDER BY ordinal")
    finally:
        await conn.close()
    return {r["key"]: (r["colour"], r["sector"]) for r in rows}


async def test_style_paints_the_groups_with_the_table_colours(http, tiles_url, database_url):
    palette = await _palette(database_url)
    assert len(palette) == 14 and len({c for c, _ in palette.values()}) == 14  # one colour each
    async with http.get(f"{tiles_url}/styles/rezone.json") as resp:
        style = await resp.json()
    matches = [
        layer["paint"]["circle-color"]
        for layer in style["layers"]
        if layer.get("source") == "finess" and isinstance(layer.get("paint", {}).get("circle-color"), list)
    ]
    assert matches, "the FINESS layer paints by group"
    for expr in matches:
        pairs = dict(zip(expr[2:-1:2], expr[3:-1:2], strict=True))
        assert pairs == {k: c for k, (c, _) in palette.items()}  # same keys, same order, same colours


async def test_report_map_symbols_use_the_table_colours(database_url):
    palette = await _palette(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        points = await finess_points(conn, ["04121", "06122", "13055", "13201"])
    finally:
        await conn.close()
    assert points
    for p in points:
        assert (p.colour, p.sector) == palette[p.group_key] and p.sector in SHAPES
