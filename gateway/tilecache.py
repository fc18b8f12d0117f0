"""In-process cache of versioned tiles: answers marked `immutable` by the tiles service (URLs carrying the
data version) are kept in a byte-bounded LRU, so a map view's repeated tiles cost no hop to the tiles service.

Keyed by path, the version parameter `v` and whether the client takes gzip (the tiles service varies on
Accept-Encoding): any other parameter (a portal's `?key=`) is ignored by the tiles service, so it must
not split the cache either. PMTiles archives are not kept here (range requests; the file is on the
tiles pod already).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from aiohttp import web

from services.common.cache import ByteLRU
from services.common.http import accepts_gzip, etag_matches

_KEPT = ("Content-Type", "Content-Encoding", "ETag", "Cache-Control", "Vary", "Last-Modified")


class TileEntry(msgspec.Struct, frozen=True):
    """A relayed 200 answer: the headers worth replaying and the bytes."""

    headers: list[tuple[str, str]]
    body: bytes

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.body) + 200


def tile_key(request: web.Request) -> str:
    """Cache key of a tile request."""
    gz = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    return f"{request.rel_url.path}?v={request.query.get('v', '')}|{'gz' if gz else 'id'}"


def bypasses_cache(request: web.Request) -> bool:
    """Archives and range requests go straight to the tiles service (a kept 200 must not answer a Range)."""
    return request.path.endswith(".pmtiles") or "Range" in request.headers


def cacheable(status: int, headers: Mapping[str, str], body: bytes) -> TileEntry | None:
    """The entry to keep for this upstream answer, or None (not a 200, or not versioned)."""
    if status != 200 or "immutable" not in headers.get("Cache-Control", ""):
        return None
    return TileEntry([(h, headers[h]) for h in _KEPT if h in headers], body)


def replay(request: web.Request, entry: TileEntry) -> web.Response:
    """The cached answer, or 304 when the client already holds it."""
    headers = dict(entry.headers)
    headers["X-Cache"] = "HIT"
    etag = headers.get("ETag")
    if etag is not None and etag_matches(request.headers.get("If-None-Match"), etag):
        headers.pop("Content-Encoding", None)
        headers.pop("Content-Type", None)
        return web.Response(status=304, headers=headers)
    return web.Response(body=entry.body, headers=headers)


TILE_CACHE = web.AppKey("tile_cache", ByteLRU[str, TileEntry])


def tile_lru(max_bytes: int, ttl_s: float, max_entry_bytes: int) -> ByteLRU[str, TileEntry]:
    """The LRU of relayed tiles (its own value type: a tile answer is not a cached API entry)."""
    return ByteLRU(
        max_bytes, lambda key, entry: entry.size + len(key), ttl_s=ttl_s, max_entry_bytes=max_entry_bytes
    )
