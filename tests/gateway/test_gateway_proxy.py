"""Tiles and styles proxied untouched: streaming, Content-Encoding passed through, validators, request id."""

from __future__ import annotations

import gzip

import pytest

from tests.gateway.doubles import TILE

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_gzip_tile_passes_through_untouched(http, gateway, doubles):
    async with http.get(f"{gateway}/tiles/communes/8/130/88.mvt", headers={"Accept-Encoding": "gzip"}) as r:
        body = await r.read()
        assert r.status == 200
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Connection" not in r.headers or r.headers["Connection"].lower() == "keep-alive"
    assert body == TILE  # the same compressed bytes, not re-encoded
    assert gzip.decompress(body).startswith(b"\x1a\x0fdemo-tile-bytes")


async def test_identity_when_client_does_not_ask_for_gzip(http, gateway):
    async with http.get(
        f"{gateway}/tiles/communes/8/130/89.mvt", headers={"Accept-Encoding": "identity"}
    ) as r:
        assert "Content-Encoding" not in r.headers
        assert await r.read() == gzip.decompress(TILE)


async def test_tile_304_and_cors(http, gateway):
    url = f"{gateway}/tiles/communes/9/260/177.mvt"
    async with http.get(
        url, headers={"If-None-Match": '"tile-v1"', "Origin": "https://n-importe-qui.example"}
    ) as r:
        assert r.status == 304
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert "Access-Control-Allow-Credentials" not in r.headers


async def test_request_id_forwarded(http, gateway, doubles):
    async with http.get(f"{gateway}/styles/rezone.json", headers={"X-Request-ID": "test-rid-42"}) as r:
        assert r.status == 200 and r.headers["X-Request-ID"] == "test-rid-42"
    assert doubles.tiles.request_ids[-1] == "test-rid-42"
    async with http.get(
        f"{gateway}/api/v1/territory?communes=01004", headers={"X-Request-ID": "test-rid-43"}
    ) as r:
        assert r.status == 200
    assert "test-rid-43" in doubles.aggregate.request_ids


async def test_tilejson_request_carries_no_client_host(http, gateway):
    """Public URLs come from configuration (REZONE_PUBLIC_URL): the client's Host is not passed upstream."""
    async with http.get(f"{gateway}/tiles/communes.json", headers={"Host": "evil.example"}) as r:
        body = await r.json()
    assert body["forwarded_host"] is None


async def test_upstream_404_relayed(http, gateway):
    async with http.get(f"{gateway}/tiles/nope/1/2/3.png") as r:
        assert r.status == 404 and (await r.json())["code"] == "not_found"  # the upstream's own problem


async def test_head_of_a_tile(http, gateway):
    async with http.head(f"{gateway}/tiles/communes/8/130/88.mvt", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"


async def test_versioned_tile_served_from_memory(http, gateway, doubles):
    url = f"{gateway}/tiles/communes/10/523/355.mvt?v=abc"
    before = doubles.tiles.calls["tiles"]
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
        first = await r.read()
        assert r.status == 200 and "X-Cache" not in r.headers
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status == 200 and r.headers["X-Cache"] == "HIT" and await r.read() == first
        assert r.headers["Content-Encoding"] == "gzip" and r.headers["ETag"] == '"tile-v1"'
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    async with http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": '"tile-v1"'}) as r:
        assert r.status == 304 and r.headers["X-Cache"] == "HIT"
    assert doubles.tiles.calls["tiles"] == before + 1
    # a client that does not take gzip gets its own entry, never the compressed bytes
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
        assert "Content-Encoding" not in r.headers and await r.read() == gzip.decompress(TILE)
    assert doubles.tiles.calls["tiles"] == before + 2
