"""Settings of the tiles service (prefix REZONE_TILES_, plus DATABASE_URL) and its application keys."""

from __future__ import annotations

from aiohttp import web

from ..common.settings import ServiceSettings

PREFIX = "REZONE_TILES_"


class Settings(ServiceSettings, frozen=True, kw_only=True):
    """Everything the tiles service reads from the environment."""

    port: int = 8081
    pyramid_dir: str = ".data/tiles"
    glyphs_dir: str = ""  # the glyph PBFs web/tools/glyphs.mjs writes; empty: web/glyphs of this checkout
    cache_mb: int = 256  # LRU of tiles built on request (gzip bytes)
    pool_max: int = 4  # about the database's cores: more would only queue inside PostgreSQL
    version_poll_s: float = 30.0  # how soon a new load (new tiles version) is picked up
    # Public origin of the TileJSON/style URLs (REZONE_PUBLIC_URL, shared by every service): the gateway's.
    public_url: str = "http://127.0.0.1:8080"
    short_cache_control: str = "public, max-age=300"


SETTINGS = web.AppKey("settings", Settings)
