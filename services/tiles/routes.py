"""HTTP handlers: tiles, TileJSON and the style. Paths are validated before any lookup, so a bad path never
reaches the database."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from aiohttp import web

from ..common.errors import BadRequest, NotFound
from ..common.http import accepts_gzip, etag_matches
from .cache import Tile
from .catalog import BOUNDS, CENTER, TILESETS
from .settings import SETTINGS
from .store import STORE
from .style import style

MVT = "application/vnd.mapbox-vector-tile"
IMMUTABLE = "public, max-age=31536000, immutable"
_ENC = msgspec.json.Encoder()
routes = web.RouteTableDef()


def _check_query(request: web.Request, allowed: frozenset[str]) -> None:
    # Unknown parameters would multiply cache keys at every proxy: refuse them.
    unknown = set(request.query) - allowed
    if unknown:
        raise BadRequest(f"paramètre(s) inconnu(s) : {', '.join(sorted(unknown))}")


def base_url(request: web.Request) -> str:
    """Public origin of the URLs in TileJSON and the style: configuration only (REZONE_PUBLIC_URL).

    Never the Host or X-Forwarded-* headers: they are the client's to choose, and these documents are cached
    (here and by every proxy) for everyone else.
    """
    return request.app[SETTINGS].public_url.rstrip("/")


TILE_PATH = r"/tiles/{tileset}/{z:\d{1,2}}/{x:\d{1,8}}/{y:\d{1,8}}.mvt"
TILEJSON_PATH = "/tiles/{tileset}.json"
STYLE_PATH = "/styles/rezone.json"


@routes.get(TILE_PATH)
async def get_tile(request: web.Request) -> web.Response:
    """One vector tile; gzip when accepted, 204 when empty, 304 on a matching If-None-Match."""
    info = request.match_info
    tileset = TILESETS.get(info["tileset"])
    z, x, y = int(info["z"]), int(info["x"]), int(info["y"])
    if tileset is None:
        raise NotFound(f"jeu de tuiles inconnu : {info['tileset']}")
    if not tileset.minzoom <= z <= tileset.maxzoom:
        raise NotFound(f"zoom {z} hors de [{tileset.minzoom}, {tileset.maxzoom}] pour {tileset.name}")
    if x >= 1 << z or y >= 1 << z:
        raise NotFound(f"tuile {z}/{x}/{y} hors de la grille (0..{(1 << z) - 1})")
    if request.query_string:
        _check_query(request, frozenset({"v"}))
    store = request.app[STORE]
    tile = await store.get(tileset.name, z, x, y)
    current = request.query.get("v") == store.version and store.version is not None
    return tile_response(request, tile, IMMUTABLE if current else request.app[SETTINGS].short_cache_control)


def tile_response(request: web.Request, tile: Tile, cache_control: str) -> web.Response:
    """Response for a tile value with the caching and encoding headers."""
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding", "Content-Type": MVT}
    if not tile.gz:
        return web.Response(status=204, headers=headers)
    gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    etag = tile.etag if gzip_ok else tile.etag_identity
    headers["ETag"] = etag
    inm = request.headers.get("If-None-Match")
    if etag_matches(inm, etag):
        return web.Response(status=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=tile.gz, headers=headers)
    return web.Response(body=tile.raw(), headers=headers)


def _json_document(request: web.Request, document: dict[str, Any]) -> web.Response:
    """JSON with a strong ETag and the short cache: these documents name the current version."""
    body = _ENC.encode(document)
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    headers = {
        "Cache-Control": request.app[SETTINGS].short_cache_control,
        "ETag": etag,
    }
    inm = request.headers.get("If-None-Match")
    if etag_matches(inm, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def tilejson(name: str, base: str, version: str | None, attribution: str) -> dict[str, Any]:
    """TileJSON 3.0.0 of a tileset, with absolute versioned tile URLs."""
    tileset = TILESETS[name]
    query = f"?v={version}" if version else ""
    return {
        "tilejson": "3.0.0",
        "name": name,
        "description": tileset.description,
        "version": version or "unbuilt",
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": tileset.minzoom,
        "maxzoom": tileset.maxzoom,
        "bounds": list(BOUNDS),
        "center": list(CENTER),
        "vector_layers": tileset.vector_layers(),
    }


@routes.get(TILEJSON_PATH)
async def get_tilejson(request: web.Request) -> web.Response:
    """TileJSON of one tileset."""
    name = request.match_info["tileset"]
    if name not in TILESETS:
        raise NotFound(f"jeu de tuiles inconnu : {name}")
    if request.query_string:
        _check_query(request, frozenset())
    store = request.app[STORE]
    return _json_document(request, tilejson(name, base_url(request), store.version, store.attribution))


@routes.get(STYLE_PATH)
async def get_style(request: web.Request) -> web.Response:
    """The default MapLibre style."""
    if request.query_string:
        _check_query(request, frozenset())
    store = request.app[STORE]
    return _json_document(request, style(base_url(request), store.version, store.group_colours))


@routes.options(TILE_PATH)
@routes.options(TILEJSON_PATH)
@routes.options(STYLE_PATH)
async def preflight(request: web.Request) -> web.Response:
    """CORS preflight (a page sending If-None-Match itself triggers one)."""
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Accept-Encoding, Range",
            "Access-Control-Max-Age": "86400",
        },
    )
