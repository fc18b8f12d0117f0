"""Tile API conventions for other portals: the catalogue, extra query parameters, downloadable PMTiles."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from services.tiles.catalog import TILESETS
from tests.problems import assert_problem
from tests.tiles.conftest import decode, lonlat_to_tile

ROOT = Path(__file__).resolve().parents[2]
PMTILES_JS = ROOT / "web" / "node_modules" / "pmtiles"
GZ = {"Accept-Encoding": "gzip"}
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def gateway_on_tiles(run_service, tiles_url) -> str:
    """A gateway relaying to the real tiles service (the other upstreams are not used here)."""
    from tests.gateway.conftest import BASE_ENV

    return run_service(
        "gateway",
        {
            **BASE_ENV,
            "REZONE_GATEWAY_TILES_URL": tiles_url,
            "REZONE_GATEWAY_AGGREGATE_URL": tiles_url,
            "REZONE_GATEWAY_REPORT_URL": tiles_url,
            "REZONE_GATEWAY_READY_UPSTREAMS": "tiles",
        },
    )


async def _tile_hits(http, internal: str) -> float:
    async with http.get(f"{internal}/metrics") as r:
        text = await r.text()
    found = re.search(r'^gateway_cache_requests_total{endpoint="tiles",result="hit"} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def _version(http, base: str) -> str:
    async with http.get(f"{base}/tiles/admin.json") as r:
        return (await r.json())["version"]


@pytest.mark.parametrize("where", ["tiles", "gateway"])
async def test_catalogue_lists_every_tileset_with_a_working_tilejson(
    http, tiles_url, gateway_on_tiles, where
):
    base = tiles_url if where == "tiles" else gateway_on_tiles
    for path in ("/tiles/", "/tiles/catalog"):
        async with http.get(base + path) as r:
            assert r.status == 200, await r.text()
            assert r.headers["Access-Control-Allow-Origin"] == "*"
            body = await r.json()
    assert [t["name"] for t in body["tilesets"]] == list(TILESETS)
    for entry in body["tilesets"]:
        async with http.get(base + "/tiles/" + entry["tilejson"].split("/tiles/", 1)[1]) as r:
            assert r.status == 200
            tilejson = await r.json()
        assert tilejson["name"] == entry["name"] and tilejson["maxzoom"] == entry["maxzoom"]
        assert entry["pmtiles"].endswith(f"/tiles/{entry['name']}.pmtiles?v={body['version']}")


async def test_unknown_parameters_are_ignored(http, tiles_url):
    plain = f"{tiles_url}/tiles/admin/6/32/22.mvt"
    async with http.get(plain, headers=GZ) as r:
        assert r.status == 200
        expected = await r.read()
    async with http.get(plain + "?key=abc&token=x", headers=GZ) as r:
        assert r.status == 200 and await r.read() == expected
    async with http.get(f"{tiles_url}/tiles/admin.json?key=abc") as r:
        assert r.status == 200 and (await r.json())["name"] == "admin"
    async with http.get(f"{tiles_url}/styles/rezone.json?apikey=1") as r:
        assert r.status == 200


async def test_extra_parameters_are_served_from_the_gateway_cache(http, gateway_on_tiles, run_service):
    version = await _version(http, gateway_on_tiles)
    url = f"{gateway_on_tiles}/tiles/admin/7/65/45.mvt?v={version}"
    async with http.get(url, headers=GZ) as r:
        assert r.status == 200 and r.headers["Cache-Control"].endswith("immutable")
        body = await r.read()
    hits = await _tile_hits(http, run_service.internal(gateway_on_tiles))
    for extra in ("&key=portail-a", "&key=portail-b&session=42"):
        async with http.get(url + extra, headers=GZ) as r:
            assert r.status == 200 and r.headers.get("X-Cache") == "HIT"
            assert await r.read() == body
    after = await _tile_hits(http, run_service.internal(gateway_on_tiles))
    assert after == hits + 2
    # The parameter order and an unknown one ahead of `v` do not split the cache either.
    async with http.get(url.replace(f"?v={version}", f"?key=z&v={version}"), headers=GZ) as r:
        assert r.headers.get("X-Cache") == "HIT"
    decode(body)  # a real tile


@pytest.mark.parametrize("where", ["tiles", "gateway"])
async def test_pmtiles_range_requests(http, tiles_url, gateway_on_tiles, where):
    base = tiles_url if where == "tiles" else gateway_on_tiles
    version = await _version(http, base)
    url = f"{base}/tiles/admin.pmtiles?v={version}&key=ignored"
    async with http.head(url) as r:
        assert r.status == 200, await r.text()
        size = int(r.headers["Content-Length"])
        etag = r.headers["ETag"]
        assert r.headers["Accept-Ranges"] == "bytes"
        assert r.headers["Cache-Control"].endswith("immutable")
    async with http.get(url, headers={"Range": "bytes=0-126"}) as r:
        assert r.status == 206
        assert r.headers["Content-Range"] == f"bytes 0-126/{size}"
        assert "Content-Range" in r.headers["Access-Control-Expose-Headers"]
        head = await r.read()
    assert head[:7] == b"PMTiles" and head[7] == 3 and len(head) == 127
    async with http.get(url, headers={"If-None-Match": etag}) as r:
        assert r.status == 304
    async with http.get(f"{base}/tiles/nope.pmtiles") as r:
        await assert_problem(r, 404, "not_found", where)
    # A known tileset without the version it was built at is not a 404 (the boundary of the one above).
    async with http.get(f"{base}/tiles/admin.pmtiles", headers={"Range": "bytes=0-6"}) as r:
        assert r.status == 206 and await r.read() == b"PMTiles"


PMTILES_ESM = PMTILES_JS / "dist" / "esm" / "index.js"
_READER = """
import { PMTiles, FetchSource } from "%s";
const [url, z, x, y] = process.argv.slice(1);
const archive = new PMTiles(new FetchSource(url));
const header = await archive.getHeader();
const metadata = await archive.getMetadata();
const tile = await archive.getZxy(Number(z), Number(x), Number(y));
const data = tile ? Buffer.from(tile.data).toString("base64") : null;
console.log(JSON.stringify({header, metadata, tile: data}));
"""


async def _deepest_tile(http, base: str, name: str) -> tuple[int, int, int]:
    """A tile at the tileset's maxzoom that has features: Lyon for the areas, a FINESS point at z14."""
    maxzoom = TILESETS[name].maxzoom
    x, y = lonlat_to_tile(4.835, 45.76, 12)
    if name != "finess":
        return (maxzoom, *lonlat_to_tile(4.835, 45.76, maxzoom))
    async with http.get(f"{base}/tiles/finess/12/{x}/{y}.mvt") as r:
        point = decode(await r.read())["finess"]["features"][0]["geometry"]["coordinates"]
    scale = 2 ** (maxzoom - 12)
    return maxzoom, x * scale + int(point[0] * scale / 4096), y * scale + int(point[1] * scale / 4096)


@pytest.mark.skipif(not PMTILES_ESM.exists(), reason="web/node_modules missing: run scripts/bootstrap.sh")
@pytest.mark.parametrize("name", list(TILESETS))
async def test_archive_opens_in_the_pmtiles_reader(http, gateway_on_tiles, name):
    """The npm `pmtiles` reader (node) reads header, metadata and a tile at maxzoom by byte ranges from the
    gateway: the archive is complete to the TileJSON's maxzoom, FINESS popup fields included."""
    version = await _version(http, gateway_on_tiles)
    async with http.get(f"{gateway_on_tiles}/tiles/{name}.json") as r:
        tilejson = await r.json()
    z, x, y = await _deepest_tile(http, gateway_on_tiles, name)
    url = f"{gateway_on_tiles}/tiles/{name}.pmtiles?v={version}"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", _READER % PMTILES_ESM.as_uri(), url, str(z), str(x), str(y)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    read = json.loads(out.stdout)
    header, metadata = read["header"], read["metadata"]
    assert header["tileType"] == 1 and header["tileCompression"] == 2  # MVT, gzip
    for field in ("attribution", "version", "vector_layers", "bounds", "center", "description"):
        assert metadata[field] == tilejson[field], field
    assert metadata["version"] == version
    assert metadata["minzoom"] == header["minZoom"] >= tilejson["minzoom"]
    assert metadata["maxzoom"] == header["maxZoom"] == tilejson["maxzoom"]
    assert [header["minLon"], header["minLat"], header["maxLon"], header["maxLat"]] == tilejson["bounds"]
    assert read["tile"], f"no tile {z}/{x}/{y} in {name}"
    layers = decode(base64.b64decode(read["tile"]))
    expected = {layer["id"] for layer in tilejson["vector_layers"] if layer["maxzoom"] >= z}
    assert layers and set(layers) <= expected
    for layer_id, layer in layers.items():
        fields = next(v["fields"] for v in tilejson["vector_layers"] if v["id"] == layer_id)
        assert set(layer["features"][0]["properties"]) <= set(fields), layer_id
    if name == "finess":  # what the popup shows
        props = layers["finess"]["features"][0]["properties"]
        assert {"nom", "finess", "categorie", "adresse", "groupe"} <= set(props), props


async def test_glyphs_through_the_gateway_are_immutable(http, gateway_on_tiles, tiles_url):
    """The style's glyph URL works through the gateway (the public origin), immutable, the same bytes."""
    async with http.get(f"{gateway_on_tiles}/styles/rezone.json") as r:
        style = await r.json()
    font = style["layers"][-1]["layout"]["text-font"][0]
    path = style["glyphs"].split("/tiles/", 1)[1].replace("{fontstack}", quote(font))
    path = path.replace("{range}", "0-255")
    bodies = []
    for base in (gateway_on_tiles, tiles_url):
        async with http.get(f"{base}/tiles/{path}", headers=GZ) as r:
            assert r.status == 200 and r.headers["Cache-Control"].endswith("immutable")
            assert r.headers["Content-Encoding"] == "gzip"
            bodies.append(await r.read())
    assert bodies[0] == bodies[1] and len(bodies[0]) > 10_000
