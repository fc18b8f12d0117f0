"""Settings of the tiles service (prefix REZONE_TILES_, plus DATABASE_URL) and its application keys."""

from __future__ import annotations

import msgspec
from aiohttp import web


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the tiles service reads from the environment."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8081
    pyramid_dir: str = ".data/tiles"
    cache_mb: int = 256  # LRU of tiles built on request (gzip bytes)
    pool_min: int = 1
    pool_max: int = 4  # about the database's cores: more would only queue inside PostgreSQL
    statement_timeout_s: float = 5.0
    acquire_timeout_s: float = 2.0
    version_poll_s: float = 30.0  # how soon a new load (new tiles version) is picked up
    public_url: str = ""  # public origin for TileJSON/style URLs; empty: from proxy headers
    short_cache_control: str = "public, max-age=300"
    shutdown_timeout_s: float = 20.0
    log_level: str = "INFO"


SETTINGS = web.AppKey("settings", Settings)
