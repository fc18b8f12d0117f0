"""The tiles catalog is the one declaration of tilesets, layers, zoom ranges, extent and margins; the SQL only
draws layers, with the parameters the build wrote from the catalog into `tiles.layers` (V0310)."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from services.tiles import catalog
from services.tiles.build import REVISION
from services.tiles.catalog import TILESETS

from .conftest import decode, fetch, lonlat_to_tile

MIGRATIONS = Path(__file__).resolve().parents[2] / "sql" / "migrations"
_FUNCTION = re.compile(r"CREATE (?:OR REPLACE )?FUNCTION tiles\.(mvt_\w+)\((.*?)\$\$(.*?)\$\$", re.S)


def _latest_bodies() -> dict[str, str]:
    """Each mvt_* function's body in its latest definition across the migrations (signature included)."""
    found: dict[str, str] = {}
    for path in sorted(MIGRATIONS.glob("V*.sql")):
        for name, signature, body in _FUNCTION.findall(path.read_text()):
            found[name] = signature + body
    return found


def test_no_layer_function_repeats_a_declared_literal():
    bodies = _latest_bodies()
    assert {"mvt_layer", "mvt_regions", "mvt_finess", "mvt_finess_clusters", "mvt_labels"} <= set(bodies)
    for name, body in bodies.items():
        assert not re.search(r"BETWEEN \d+ AND \d+", body), f"{name}: a literal zoom range"
        assert not re.search(r"ST_AsMVT\(t, '", body), f"{name}: a literal layer name"
        assert str(catalog.EXTENT) not in body and "margin => 0" not in body, (
            f"{name}: a literal extent or margin"
        )


def test_the_tiles_version_names_the_declaration():
    assert REVISION.endswith("." + catalog.layers_digest())


async def test_the_build_wrote_the_catalog_into_tiles_layers(database_url):
    rows = await fetch(
        database_url, "SELECT id, minzoom, maxzoom, extent, buffer, margin, detail_minzoom FROM tiles.layers"
    )
    assert sorted(tuple(r) for r in rows) == sorted(catalog.layer_rows())


async def test_the_sql_draws_by_the_declared_row(make_loaded_database):
    """Change a declared row on a scratch copy: the drawing follows it (so nothing else decides)."""
    conn = await asyncpg.connect(make_loaded_database())
    try:
        tile = (11, *lonlat_to_tile(2.35, 48.86, 11))  # Paris, inside communes' z8-12
        paris10 = (10, *lonlat_to_tile(2.35, 48.86, 10))
        before = decode(await conn.fetchval("SELECT tiles.mvt_layer('communes', $1, $2, $3)", *tile))
        await conn.execute("UPDATE tiles.layers SET maxzoom = 10 WHERE id = 'communes'")
        after = await conn.fetchval("SELECT tiles.mvt_layer('communes', $1, $2, $3)", *tile)
        await conn.execute("UPDATE tiles.layers SET extent = 512, maxzoom = 12 WHERE id = 'communes'")
        coarse = decode(await conn.fetchval("SELECT tiles.mvt_layer('communes', $1, $2, $3)", *tile))
        await conn.execute("UPDATE tiles.layers SET detail_minzoom = 9 WHERE id = 'finess'")
        named = decode(await conn.fetchval("SELECT tiles.mvt_layer('finess', $1, $2, $3)", *paris10))
        await conn.execute("DELETE FROM tiles.layers WHERE id = 'cpts'")
        try:
            await conn.fetchval("SELECT tiles.mvt_layer('cpts', $1, $2, $3)", *paris10)
            unknown = None
        except asyncpg.InvalidParameterValueError as exc:
            unknown = str(exc)
    finally:
        await conn.close()
    assert before["communes"]["extent"] == catalog.EXTENT and before["communes"]["features"]
    assert after == b""
    assert coarse["communes"]["extent"] == 512
    assert named["finess"]["features"] and all("nom" in f["properties"] for f in named["finess"]["features"])
    assert unknown is not None and unknown.startswith("unknown layer 'cpts'")


def test_layers_at_follow_the_declared_ranges():
    admin = TILESETS["admin"]
    assert admin.layers_at(5) == ["regions", "regions_label", "departements", "departements_label"]
    assert "communes" in admin.layers_at(8) and "communes_label" not in admin.layers_at(8)
    for tileset in TILESETS.values():
        for z in range(tileset.minzoom, tileset.maxzoom + 1):
            ids = tileset.layers_at(z)
            assert ids == [lay.id for lay in tileset.layers if lay.minzoom <= z <= lay.maxzoom]


def test_each_layer_is_declared_once():
    seen: dict[str, catalog.Layer] = {}
    for tileset in TILESETS.values():
        for layer in tileset.layers:
            assert seen.setdefault(layer.id, layer) is layer, f"{layer.id} declared twice"
    assert list(catalog.layers()) == list(seen)
