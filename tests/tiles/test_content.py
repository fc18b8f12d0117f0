"""What the tiles contain, decoded with mapbox-vector-tile, against the fully loaded PostGIS."""

from __future__ import annotations

import re

import asyncpg
import pytest

from .conftest import decode, fetch, lonlat_to_tile, tile_to_mercator

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _layers(http, base: str, tileset: str, z: int, x: int, y: int) -> dict:
    async with http.get(
        f"{base}/tiles/{tileset}/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return decode(await resp.read())


def _by_code(layer: dict) -> dict[str, dict]:
    return {f["properties"]["code"]: f for f in layer["features"]}


async def test_ajaccio_z10_holds_2a004_with_its_properties(http, tiles_url, database_url):
    x, y = lonlat_to_tile(8.7369, 41.9267, 10)
    layers = await _layers(http, tiles_url, "admin", 10, x, y)
    feature = _by_code(layers["communes"])["2A004"]
    (row,) = await fetch(
        database_url, "SELECT id, nom, population, departement_code FROM ref.communes WHERE code = '2A004'"
    )
    assert feature["id"] == row["id"]
    assert feature["properties"] == {
        "code": "2A004",
        "nom": row["nom"],
        "population": row["population"],
        "departement": "2A",
    }
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert "Ajaccio" in {f["properties"]["nom"] for f in layers["communes_label"]["features"]}
    assert "2A" in {f["properties"]["code"] for f in layers["departements"]["features"]}


async def test_reunion_tile_holds_97411(http, tiles_url):
    x, y = lonlat_to_tile(55.4481, -20.8823, 10)
    layers = await _layers(http, tiles_url, "communes", 10, x, y)
    assert "97411" in _by_code(layers["communes"])


@pytest.mark.parametrize("z", [8, 12])
async def test_paris_tiles_hold_arrondissements_not_the_parent(http, tiles_url, z):
    x, y = lonlat_to_tile(2.3488, 48.8534, z)
    codes = set(_by_code((await _layers(http, tiles_url, "admin", z, x, y))["communes"]))
    assert "75056" not in codes
    assert {"75101", "75104"} <= codes


async def test_pyramid_and_database_build_the_same_tile(http, tiles_url, tiles_url_no_pyramid):
    x, y = lonlat_to_tile(4.8357, 45.7640, 8)  # Lyon: communes, arrondissements, CPTS, labels
    from_pyramid = await _layers(http, tiles_url, "admin", 8, x, y)
    from_db = await _layers(http, tiles_url_no_pyramid, "admin", 8, x, y)
    assert from_pyramid == from_db
    assert "69381" in _by_code(from_db["communes"])


async def test_layers_respect_their_zoom_ranges(http, tiles_url):
    lon, lat = 2.3488, 48.8534
    below = await _layers(http, tiles_url, "admin", 7, *lonlat_to_tile(lon, lat, 7))
    at = await _layers(http, tiles_url, "admin", 8, *lonlat_to_tile(lon, lat, 8))
    assert "communes" not in below and "communes" in at
    assert {"regions", "departements", "regions_label", "departements_label"} <= set(below)
    clusters = await _layers(http, tiles_url, "finess", 8, *lonlat_to_tile(lon, lat, 8))
    points = await _layers(http, tiles_url, "finess", 9, *lonlat_to_tile(lon, lat, 9))
    assert set(clusters) == {"finess_clusters"} and set(points) == {"finess"}
    assert all(f["properties"]["total"] >= 1 for f in clusters["finess_clusters"]["features"])
    assert points["finess"]["features"]
    assert all(
        not {"nom", "categorie", "adresse"} & set(f["properties"]) for f in points["finess"]["features"]
    )
    named = await _layers(http, tiles_url, "finess", 12, *lonlat_to_tile(lon, lat, 12))
    assert named["finess"]["features"]
    assert all(
        {"groupe", "nom", "finess", "categorie", "adresse"} <= set(f["properties"])
        for f in named["finess"]["features"]
    )


async def test_finess_points_fall_inside_their_commune(http, tiles_url, database_url):
    conn = await asyncpg.connect(database_url)
    try:
        sample = await conn.fetch(
            "SELECT f.nofinesset, f.selectable_code, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat "
            "FROM health.finess_et f WHERE f.geom IS NOT NULL AND NOT f.approximate "
            "ORDER BY md5(f.nofinesset) LIMIT 25"
        )
        assert len(sample) == 25, "the demo dataset should hold geolocated FINESS establishments"
        for row in sample:
            z = 14
            x, y = lonlat_to_tile(row["lon"], row["lat"], z)
            layers = await _layers(http, tiles_url, "finess", z, x, y)
            feature = next(f for f in layers["finess"]["features"] if f["id"] == int(row["nofinesset"], 36))
            assert feature["properties"]["finess"] == row["nofinesset"]
            px, py = feature["geometry"]["coordinates"]
            mx, my = tile_to_mercator(z, x, y, px, py)
            # One tile unit at z14 is 0.6 m: the point, as decoded, lies in (or on the border of) its commune.
            inside = await conn.fetchval(
                "SELECT ST_DWithin(geom_3857, ST_SetSRID(ST_MakePoint($1, $2), 3857), 2.0) "
                "FROM ref.communes WHERE code = $3",
                mx,
                my,
                row["selectable_code"],
            )
            assert inside, row["nofinesset"]
    finally:
        await conn.close()


def _address(row: asyncpg.Record) -> str:
    """The one-line address docs/tiles.md promises, rebuilt here from the raw FINESS fields."""
    words = (row[k] for k in ("numvoie", "compvoie", "typvoie", "voie") if row[k] is not None)
    street = " ".join(words).strip()
    parts = [p.strip() for p in (street, row["lieuditbp"], row["ligneacheminement"]) if p and p.strip()]
    return re.sub(r"\s+", " ", ", ".join(parts))


_POPUP_SAMPLE = """
    SELECT f.nofinesset, f.rs, f.numvoie, f.compvoie, f.typvoie, f.voie, f.lieuditbp, f.ligneacheminement,
           f.approximate, c.libelle, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
    FROM health.finess_et f JOIN ref.finess_categories c USING (categetab)
    WHERE f.geom IS NOT NULL AND f.approximate = $1
    ORDER BY md5(f.nofinesset) LIMIT $2"""


async def test_finess_points_carry_what_the_popup_shows(http, tiles_url, database_url):
    conn = await asyncpg.connect(database_url)
    try:
        sample = [*await conn.fetch(_POPUP_SAMPLE, False, 12), *await conn.fetch(_POPUP_SAMPLE, True, 3)]
    finally:
        await conn.close()
    assert len(sample) == 15, "the demo dataset should hold precise and approximate (centroid) positions"
    for row in sample:
        z = 14
        layers = await _layers(http, tiles_url, "finess", z, *lonlat_to_tile(row["lon"], row["lat"], z))
        feature = next(f for f in layers["finess"]["features"] if f["id"] == int(row["nofinesset"], 36))
        props = feature["properties"]
        assert props["nom"] == row["rs"][:60]
        assert props["categorie"] == row["libelle"]
        assert props["adresse"] and props["adresse"] == _address(row), row["nofinesset"]
        assert "  " not in props["adresse"]
        assert props.get("approximatif", False) is row["approximate"]


_HOLES = """SELECT coalesce(sum(ST_Area(ST_MakePolygon(ST_InteriorRingN(p, i)))), 0)
             FROM (SELECT (ST_Dump(ST_Union(g))).geom AS p FROM ({src}) s) u,
                  generate_series(1, ST_NumInteriorRings(p)) AS i"""
_OVERLAP = "SELECT sum(ST_Area(g)) - ST_Area(ST_Union(g)) FROM ({src}) s"


async def test_neighbours_share_borders_after_generalisation(database_url):
    """No gap or overlap between the simplified communes of a sampled département, while simplifying each
    commune on its own (the check's negative control) opens both."""
    raw = "SELECT geom_3857 AS g FROM ref.communes WHERE departement_code = '35'"
    conn = await asyncpg.connect(database_url)
    try:
        raw_holes = await conn.fetchval(_HOLES.format(src=raw))
        for band in (8, 10):
            band_src = f"SELECT geom AS g FROM tiles.communes WHERE band = {band} AND departement = '35'"
            overlap = await conn.fetchval(_OVERLAP.format(src=band_src))
            gaps = await conn.fetchval(_HOLES.format(src=band_src)) - raw_holes
            # m² over a whole département of 6,800 km²: float noise only
            assert overlap < 1000.0, (band, overlap)
            assert gaps < 1000.0, (band, gaps)
        naive = (
            "SELECT ST_SimplifyVW(geom, 600.0 ^ 2) AS g FROM tiles.communes "
            "WHERE band = 10 AND departement = '35'"
        )
        assert await conn.fetchval(_OVERLAP.format(src=naive)) > 100_000.0
        assert await conn.fetchval(_HOLES.format(src=naive)) - raw_holes > 100_000.0
    finally:
        await conn.close()


async def test_every_prebuilt_tile_is_within_the_size_budget(test_data_dir, database_url):
    from pmtiles.reader import MemorySource, all_tiles

    conn = await asyncpg.connect(database_url)
    try:
        version = await conn.fetchval("SELECT tiles.version()")
    finally:
        await conn.close()
    archives = sorted((test_data_dir / "tiles" / version).glob("*.pmtiles"))
    assert {p.stem for p in archives} >= {"admin", "communes", "departements", "regions", "finess"}
    import gzip

    sizes = [
        len(gzip.decompress(data))
        for path in archives
        for _, data in all_tiles(MemorySource(path.read_bytes()))
    ]
    assert len(sizes) > 300
    assert max(sizes) <= 500 * 1024
