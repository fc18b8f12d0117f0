"""HTTP handlers: tiles, TileJSON and the style. Paths are validated before any lookup, so a bad path never
reaches the database."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec
from aiohttp import web

from ..common.errors import NotFound
from ..common.http import accepts_gzip, etag_matches
from .cache import Tile
from .catalog import TILESETS, tilejson_fields
from .glyphs import GLYPHS
from .layout import archive_path
from .settings import SETTINGS
from .store import STORE
from .style import style

MVT = "application/vnd.mapbox-vector-tile"
IMMUTABLE = "public, max-age=31536000, immutable"
_ENC = msgspec.json.Encoder()
routes = web.RouteTableDef()


def base_url(request: web.Request) -> str:
    """Public origin of the URLs in TileJSON and the style: configuration only (REZONE_PUBLIC_URL).

    Never the Host or X-Forwarded-* headers: they are the client's to choose, and these documents are cached
    (here and by every proxy) for everyone else.
    """
    return request.app[SETTINGS].public_url.rstrip("/")


TILE_PATH = r"/tiles/{tileset}/{z:\d{1,2}}/{x:\d{1,8}}/{y:\d{1,8}}.mvt"
TILEJSON_PATH = "/tiles/{tileset}.json"
PMTILES_PATH = "/tiles/{tileset}.pmtiles"
CATALOG_PATHS = ("/tiles/", "/tiles/catalog")
STYLE_PATH = "/styles/rezone.json"
GLYPH_PATH = r"/tiles/glyphs/{version:[0-9a-f]{12}}/{fontstack}/{start:\d{1,5}}-{end:\d{1,5}}.pbf"


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
    # Portals and proxies append their own parameters (`?key=`): only `v` means anything here, the rest is
    # ignored, and the gateway keys its cache on `v` alone (gateway/tilecache.py).
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


def tilejson(
    name: str, base: str, version: str | None, attribution: str, groups: Sequence[str]
) -> dict[str, Any]:
    """TileJSON 3.0.0 of a tileset, with absolute versioned tile URLs."""
    tileset = TILESETS[name]
    query = f"?v={version}" if version else ""
    return {
        "tilejson": "3.0.0",
        **tilejson_fields(name, version, attribution, groups),
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": tileset.minzoom,
        "maxzoom": tileset.maxzoom,
    }


@routes.get(TILEJSON_PATH)
async def get_tilejson(request: web.Request) -> web.Response:
    """TileJSON of one tileset."""
    name = request.match_info["tileset"]
    if name not in TILESETS:
        raise NotFound(f"jeu de tuiles inconnu : {name}")
    store = request.app[STORE]
    groups = [g.key for g in store.finess_groups]
    return _json_document(
        request, tilejson(name, base_url(request), store.version, store.attribution, groups)
    )


@routes.get(STYLE_PATH)
async def get_style(request: web.Request) -> web.Response:
    """The default MapLibre style."""
    store = request.app[STORE]
    glyphs = request.app[GLYPHS].url(base_url(request))
    return _json_document(request, style(base_url(request), store.version, store.finess_groups, glyphs))


@routes.get(GLYPH_PATH)
async def get_glyphs(request: web.Request) -> web.StreamResponse:
    """One glyph range (SDF PBF) of a font stack; gzip when accepted; immutable (the URL names the fonts)."""
    info = request.match_info
    glyphs = request.app[GLYPHS]
    path = glyphs.path(info["fontstack"], int(info["start"]), int(info["end"]))
    if info["version"] != glyphs.version or path is None:
        raise NotFound(f"glyphes inconnus : {info['fontstack']} {info['start']}-{info['end']}")
    return web.FileResponse(
        path, headers={"Cache-Control": IMMUTABLE, "Content-Type": "application/x-protobuf"}
    )


def catalog(base: str, version: str | None) -> dict[str, Any]:
    """Every tileset with its TileJSON and archive URLs (as Martin's `/catalog`, pg_tileserv's index)."""
    query = f"?v={version}" if version else ""
    return {
        "version": version or "unbuilt",
        "style": f"{base}{STYLE_PATH}",
        "tilesets": [
            {
                "name": name,
                "description": tileset.description,
                "tilejson": f"{base}/tiles/{name}.json",
                "pmtiles": f"{base}/tiles/{name}.pmtiles{query}",
                "minzoom": tileset.minzoom,
                "maxzoom": tileset.maxzoom,
                "layers": [layer.id for layer in tileset.layers],
            }
            for name, tileset in TILESETS.items()
        ],
    }


@routes.get(CATALOG_PATHS[0])
@routes.get(CATALOG_PATHS[1])
async def get_catalog(request: web.Request) -> web.Response:
    """The catalogue of tilesets."""
    return _json_document(request, catalog(base_url(request), request.app[STORE].version))


@routes.get(PMTILES_PATH)
async def get_pmtiles(request: web.Request) -> web.StreamResponse:
    """The PMTiles archive of a tileset for the current version, with HTTP range requests and an ETag.

    aiohttp's FileResponse answers `Range` (206), `If-Range`, `If-None-Match` and HEAD itself. With `?v=`
    naming the current version the archive is immutable; without it, the short cache (it changes at the
    next load).
    """
    name = request.match_info["tileset"]
    if name not in TILESETS:
        raise NotFound(f"jeu de tuiles inconnu : {name}")
    store = request.app[STORE]
    if store.version is None or store.pyramid_maxzoom < 0:
        raise NotFound("aucune archive PMTiles construite pour la version courante des tuiles")
    path = archive_path(store.pyramid_dir, store.version, name)
    if not path.is_file():
        raise NotFound(f"le jeu de tuiles {name} est vide : pas d'archive")
    current = request.query.get("v") == store.version
    cache = IMMUTABLE if current else request.app[SETTINGS].short_cache_control
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": cache,
            "Content-Type": "application/vnd.pmtiles",
            "Content-Disposition": f'inline; filename="rezone-{name}-{store.version}.pmtiles"',
        },
    )


@routes.options(PMTILES_PATH)
@routes.options(CATALOG_PATHS[1])
@routes.options(TILE_PATH)
@routes.options(TILEJSON_PATH)
@routes.options(STYLE_PATH)
@routes.options(GLYPH_PATH)
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
