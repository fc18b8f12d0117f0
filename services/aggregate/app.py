"""Aggregate service: the territorial diagnosis and the header-bar summary of a selection of communes."""

from __future__ import annotations

import msgspec
from aiohttp import web

from ..common.db import POOL, database_ready, pg_ctx
from ..common.web import base_app
from . import queries, routes


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Environment `REZONE_AGGREGATE_*` (and `DATABASE_URL`)."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8082
    # The session role: it may execute the api entry points only, and read no raw data.
    db_role: str = "rezone_reader"
    # A diagnosis holds three connections at once (its parts run in parallel); idle ones keep warm plans.
    pool_min: int = 3
    pool_max: int = 9
    statement_timeout_s: float = 10.0
    acquire_timeout_s: float = 2.0
    max_communes: int = 100
    # In-flight cap = pool_max / 3 × (1 + queue_factor) requests; beyond it 503 + Retry-After at once.
    queue_factor: int = 2
    # 100 codes with ALD ids fit in ~2 KiB; anything much larger is not a selection.
    client_max_size: int = 16384
    shutdown_timeout_s: float = 20.0
    log_level: str = "INFO"


async def api_ready(app: web.Application) -> None:
    """Readiness check: the migrated `api` entry points are executable by the service's role."""
    await queries.api_ready(app[POOL])


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application; nothing touches the database before start-up."""
    app = base_app(
        "aggregate", readiness=[database_ready, api_ready], client_max_size=settings.client_max_size
    )
    app[routes.SETTINGS] = settings
    app[routes.DB_SECONDS] = routes.db_histogram(app)
    app[routes.LIMITER] = routes.Limiter(max(1, settings.pool_max // 3) * (1 + settings.queue_factor))
    app.cleanup_ctx.append(
        pg_ctx(
            settings.database_url,
            app_name="rezone-aggregate",
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            statement_timeout_s=settings.statement_timeout_s,
            role=settings.db_role,
        )
    )
    app.add_routes(routes.routes)
    return app
