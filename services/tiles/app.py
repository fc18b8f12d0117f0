"""The tiles service: national commune, boundary, CPTS and FINESS vector tiles (see docs/tiles.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from ..common.db import POOL, database_ready, pg_ctx
from ..common.errors import Unavailable
from ..common.http import SHARED_EXPOSED
from ..common.web import METRICS, base_app
from .glyphs import GLYPHS, Glyphs
from .routes import routes
from .settings import SETTINGS, Settings
from .store import STORE, TileMetrics, TileStore

log = logging.getLogger("rezone.tiles")
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Expose-Headers": SHARED_EXPOSED,
}


async def _cors(request: web.Request, response: web.StreamResponse) -> None:
    # Every response, errors included, so a page on another origin can read why a tile failed.
    # No Allow-Credentials: a wildcard origin with credentials is refused by browsers anyway.
    response.headers.update(_CORS)


async def tiles_ready(app: web.Application) -> None:
    """Readiness: the tables have been built (a tiles version exists)."""
    if app[STORE].version is None:
        raise Unavailable("tables de tuiles non construites (lancer le chargement)")


def _store_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        store = TileStore(
            app[POOL],
            Path(settings.pyramid_dir),
            settings.cache_mb << 20,
            TileMetrics(app[METRICS].registry),
            settings.acquire_timeout_s,
        )
        app[STORE] = store
        with contextlib.suppress(Exception):  # not fatal: readiness stays false and the poller retries
            await store.refresh()
        poller = asyncio.create_task(_follow_version(store, settings.version_poll_s))
        yield
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller

    return ctx


async def _follow_version(store: TileStore, every_s: float) -> None:
    delay = 0.25
    while True:
        # Not ready yet (database down at start-up, nothing built): retry soon, with a capped backoff.
        await asyncio.sleep(every_s if store.version is not None else delay)
        delay = min(every_s, delay * 2)
        try:
            await store.refresh()
        except Exception as exc:  # a database blip must not kill the poller; the next round retries
            log.warning("tiles version check failed", extra={"error": str(exc) or type(exc).__name__})


def create_app(settings: Settings) -> web.Application:
    """Application with its pool, tile store and routes."""
    app = base_app(
        "tiles",
        settings,
        readiness=[database_ready, tiles_ready],
    )
    app[SETTINGS] = settings
    app[GLYPHS] = Glyphs(Path(settings.glyphs_dir or Path(__file__).resolve().parents[2] / "web" / "glyphs"))
    app.cleanup_ctx.append(
        pg_ctx(
            settings.database_url,
            app_name="rezone-tiles",
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            statement_timeout_s=settings.statement_timeout_s,
        )
    )
    app.cleanup_ctx.append(_store_ctx(settings))
    app.on_response_prepare.append(_cors)
    app.add_routes(routes)
    return app
