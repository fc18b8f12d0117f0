"""HTTP contract of the tiles service: encodings, validators, caching, CORS, TileJSON, style, bad paths."""

from __future__ import annotations

import asyncio
import gzip
import re
from urllib.parse import quote

import pytest

from tests.problems import assert_problem

from .conftest import decode, fetch, lonlat_to_tile, metric

pytestmark = pytest.mark.asyncio(loop_scope="session")

GZ = {"Accept-Encoding": "gzip, deflate, br"}


async def _version(http, base: str) -> str:
    async with http.get(f"{base}/tiles/admin.json") as resp:
        return (await resp.json())["version"]


async def test_gzip_when_accepted_identity_otherwise(http, tiles_url):
    url = f"{tiles_url}/tiles/admin/10/{'/'.join(map(str, lonlat_to_tile(8.7369, 41.9267, 10)))}.mvt"
    async with http.get(url, headers=GZ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Vary"] == "Accept-Encoding"
        zipped, etag_gz = await resp.read(), resp.headers["ETag"]
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as resp:
        assert resp.status == 200 and "Content-Encoding" not in resp.headers
        plain, etag_plain = await resp.read(), resp.headers["ETag"]
    assert gzip.decompress(zipped) == plain
    assert etag_gz != etag_plain and etag_gz.startswith('"') and not etag_gz.startswith("W/")
    async with http.get(url, headers={"Accept-Encoding": "gzip;q=0, br"}) as resp:
        assert "Content-Encoding" not in resp.headers


async def test_etag_and_304(http, tiles_url):
    url = f"{tiles_url}/tiles/communes/12/2075/1409.mvt"
    async with http.get(url, headers=GZ) as resp:
        assert resp.status == 200
        etag = resp.headers["ETag"]
    async with http.get(url, headers={**GZ, "If-None-Match": etag}) as resp:
        assert resp.status == 304
        assert resp.headers["ETag"] == etag and await resp.read() == b""
        assert resp.headers["Vary"] == "Accept-Encoding"
    async with http.get(url, headers={**GZ, "If-None-Match": f'"other", W/{etag}'}) as resp:
        assert resp.status == 304
    async with http.get(url, headers={**GZ, "If-None-Match": '"stale"'}) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("path", ["admin/10/400/380", "finess/12/1600/1500", "communes/9/0/0", "admin/0/0/0"])
async def test_empty_tile_is_204(http, tiles_url, path):
    # Mid-Atlantic tiles: nothing there (admin 0/0/0 is the world tile and does hold France).
    async with http.get(f"{tiles_url}/tiles/{path}.mvt", headers=GZ) as resp:
        if path == "admin/0/0/0":
            assert resp.status == 200 and "regions" in decode(await resp.read())
        else:
            assert resp.status == 204
            assert await resp.read() == b""
            assert "Cache-Control" in resp.headers


async def test_cache_control_immutable_only_on_current_version(http, tiles_url):
    version = await _version(http, tiles_url)
    base = f"{tiles_url}/tiles/admin/5/16/11.mvt"
    async with http.get(f"{base}?v={version}", headers=GZ) as resp:
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for url in (base, f"{base}?v=0ld"):
        async with http.get(url, headers=GZ) as resp:
            assert resp.status == 200
            assert "immutable" not in resp.headers["Cache-Control"]
            assert "max-age=300" in resp.headers["Cache-Control"]


async def test_cors_and_cross_origin_resource_policy(http, tiles_url):
    hdrs = {**GZ, "Origin": "https://portail.example"}
    for path in (
        "/tiles/admin/6/32/22.mvt",
        "/tiles/admin.json",
        "/styles/rezone.json",
        "/tiles/nope/1/0/0.mvt",
    ):
        async with http.get(tiles_url + path, headers=hdrs) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*", path
            assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin", path
            assert "Access-Control-Allow-Credentials" not in resp.headers
    async with http.options(
        f"{tiles_url}/tiles/admin/6/32/22.mvt",
        headers={
            "Origin": "https://portail.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    ) as resp:
        assert resp.status == 204
        assert "GET" in resp.headers["Access-Control-Allow-Methods"]
    async with http.head(f"{tiles_url}/tiles/admin/6/32/22.mvt", headers=GZ) as resp:
        assert resp.status == 200 and resp.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/tiles/nope/1/0/0.mvt", 404),  # unknown tileset
        ("/tiles/admin/13/4000/2000.mvt", 404),  # above the tileset's max zoom
        ("/tiles/communes/3/4/2.mvt", 404),  # below the tileset's min zoom
        ("/tiles/admin/10/1024/10.mvt", 404),  # x outside 0..2^z-1
        ("/tiles/admin/10/10/5000.mvt", 404),  # y outside
        ("/tiles/admin/1/a/0.mvt", 404),  # not a number
        ("/tiles/admin/99999999999/0/0.mvt", 404),  # absurd zoom
        ("/tiles/admin/-1/0/0.mvt", 404),
        ("/tiles/admin/10/527/374.pbf", 404),
        ("/tiles/nope.json", 404),
    ],
)
async def test_bad_paths_are_problems_without_database(http, tiles_url, path, status):
    before = await metric(http, tiles_url, "tiles_db_queries_total")
    async with http.get(tiles_url + path, headers=GZ) as resp:
        assert resp.status == status
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        problem = await resp.json(content_type=None)
        assert problem["status"] == status and problem["code"] in ("not_found", "bad_request")
    assert await metric(http, tiles_url, "tiles_db_queries_total") == before


async def test_concurrent_misses_make_one_query(http, tiles_url):
    x, y = lonlat_to_tile(-1.6778, 48.1173, 11)  # Rennes, z11: built on request
    url = f"{tiles_url}/tiles/communes/11/{x}/{y}.mvt"
    before = await metric(http, tiles_url, "tiles_db_queries_total")
    bodies = await asyncio.gather(*(_fetch(http, url) for _ in range(30)))
    assert len(set(bodies)) == 1 and bodies[0]
    assert await metric(http, tiles_url, "tiles_db_queries_total") == before + 1
    await _fetch(http, url)  # now a hit
    assert await metric(http, tiles_url, "tiles_db_queries_total") == before + 1


async def _fetch(http, url: str) -> bytes:
    async with http.get(url, headers=GZ) as resp:
        assert resp.status == 200
        return await resp.read()


async def test_tilejson_is_absolute_versioned_and_describes_layers(http, tiles_url):
    # The URLs come from REZONE_PUBLIC_URL (the tests make it the service's own origin): a client naming
    # another host must not get it written into a document every other client then reads from the caches.
    spoof = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example, proxy.internal",
        "Host": "evil.example",
    }
    async with http.get(f"{tiles_url}/tiles/admin.json", headers=spoof) as resp:
        assert resp.status == 200
        assert "max-age=300" in resp.headers["Cache-Control"]
        assert "X-Forwarded-Host" not in resp.headers.get("Vary", "")
        doc = await resp.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"{tiles_url}/tiles/admin/{{z}}/{{x}}/{{y}}.mvt?v={doc['version']}"]
    west, south, east, north = doc["bounds"]
    assert west < -61 and east > 55 and south < -21 and north > 51  # the DOM and the metropole
    layers = {layer["id"]: layer for layer in doc["vector_layers"]}
    assert set(layers) == {
        "regions",
        "regions_label",
        "departements",
        "departements_label",
        "communes",
        "communes_label",
        "cpts",
    }
    assert layers["communes"]["minzoom"] == 8 and layers["communes"]["maxzoom"] == 12
    assert set(layers["communes"]["fields"]) == {"code", "nom", "population", "departement"}
    # Every drawn source of the demo load is named as demonstration data, never as the real registry.
    assert "établissements FINESS : données de démonstration" in doc["attribution"]
    assert "périmètres des CPTS : données de démonstration" in doc["attribution"]
    async with http.get(f"{tiles_url}/tiles/finess.json") as resp:
        doc = await resp.json()
    assert doc["tiles"][0].startswith(tiles_url)
    assert {layer["id"] for layer in doc["vector_layers"]} == {"finess", "finess_clusters"}


async def test_finess_groups_are_the_rows_of_their_table(http, tiles_url, database_url):
    """ref.finess_groups is the one list of groups: the cluster layer's fields, the style's paint and the
    groups the web legend reads (style metadata) are its rows, in its order."""
    rows = await fetch(
        database_url, "SELECT key, label, coordinated, colour FROM ref.finess_groups ORDER BY ordinal"
    )
    assert len(rows) == 14
    async with http.get(f"{tiles_url}/tiles/finess.json") as resp:
        layers = {layer["id"]: layer for layer in (await resp.json())["vector_layers"]}
    expected = {"total": "Number", **{f"n_{r['key']}": "Number" for r in rows}}
    assert layers["finess_clusters"]["fields"] == expected
    async with http.get(f"{tiles_url}/styles/rezone.json") as resp:
        style = await resp.json()
    assert style["metadata"]["rezone:finess_groups"] == [dict(r) for r in rows]
    points = next(lay for lay in style["layers"] if lay.get("source-layer") == "finess")
    paint = points["paint"]["circle-color"]
    assert paint[:2] == ["match", ["get", "groupe"]]
    assert list(zip(paint[2:-1:2], paint[3:-1:2], strict=True)) == [(r["key"], r["colour"]) for r in rows]


async def test_style_uses_only_our_sources(http, tiles_url):
    spoof = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    async with http.get(f"{tiles_url}/styles/rezone.json", headers=spoof) as resp:
        assert resp.status == 200
        style = await resp.json()
    assert style["version"] == 8 and "sprite" not in style  # no icon is drawn
    # Our own glyphs under the configured origin, never the spoofed one, in a URL naming the font sources.
    assert re.fullmatch(
        re.escape(f"{tiles_url}/tiles/glyphs/") + r"[0-9a-f]{12}/\{fontstack\}/\{range\}\.pbf",
        style["glyphs"],
    ), style["glyphs"]
    fonts = {font for layer in style["layers"] for font in layer.get("layout", {}).get("text-font", [])}
    template = style["glyphs"].replace("{range}", "0-255")
    for font in fonts:
        async with http.get(
            template.replace("{fontstack}", quote(font)), headers={"Accept-Encoding": "gzip"}
        ) as r:
            assert r.status == 200, font
            assert r.headers["Cache-Control"].endswith("immutable")
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            assert (
                r.headers["Content-Encoding"] == "gzip"
                and r.headers["Content-Type"] == "application/x-protobuf"
            )
            pbf = gzip.decompress(await r.read())
        assert font.encode() in pbf and len(pbf) > 10_000  # the fontstack name and 'A'…'é' bitmaps
    # A stack falls back to its first font we have; a range off the 256 grid, another digest: 404.
    async with http.get(template.replace("{fontstack}", quote("Open Sans Regular,DejaVu Sans Bold"))) as r:
        assert r.status == 200
    # The boundary of the 256 grid: 256-511 is a range, 1-256 and 65536-65791 (past U+FFFF) are not.
    async with http.get(template.replace("{fontstack}", quote(min(fonts))).replace("0-255", "256-511")) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/x-protobuf"
    for bad in (("0-255", "1-256"), ("0-255", "65536-65791")):
        async with http.get(template.replace("{fontstack}", quote(min(fonts))).replace(*bad)) as r:
            doc = await assert_problem(r, 404, "not_found", bad)
            assert bad[1] in doc["detail"], doc
    wrong = re.sub(r"/glyphs/[0-9a-f]{12}/", "/glyphs/000000000000/", template)
    async with http.get(wrong.replace("{fontstack}", quote(min(fonts)))) as r:
        await assert_problem(r, 404, "not_found", "another glyph digest")
    assert {s["url"] for s in style["sources"].values()} == {
        f"{tiles_url}/tiles/admin.json",
        f"{tiles_url}/tiles/finess.json",
    }
    layer_ids = {layer.get("source-layer") for layer in style["layers"]} - {None}
    assert layer_ids <= {
        "regions",
        "regions_label",
        "departements",
        "departements_label",
        "communes",
        "communes_label",
        "cpts",
        "finess",
        "finess_clusters",
    }


async def test_metrics_count_hits_and_misses_per_zoom(http, tiles_url):
    await _fetch(http, f"{tiles_url}/tiles/admin/5/16/11.mvt")
    async with http.get(f"{tiles_url}/metrics") as resp:
        text = await resp.text()
    assert 'tiles_requests_total{source="pyramid",tileset="admin",z="5"}' in text
    assert "tiles_generation_seconds_bucket" in text and "tiles_size_bytes_bucket" in text
