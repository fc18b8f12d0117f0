"""Aggregate service: the territorial diagnosis and the header-bar summary of a selection of communes."""

from __future__ import annotations

from aiohttp import web

from ..common.db import POOL, database_ready, pg_ctx
from ..common.web import base_app
from . import queries, routes
from .settings import SETTINGS, Settings


async def api_ready(app: web.Application) -> None:
    """Readiness check: the migrated `api` entry points are executable by the service's role."""
    await queries.api_ready(app[POOL])


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application; nothing touches the database before start-up."""
    app = base_app(
        "aggregate",
        settings,
        readiness=[database_ready, api_ready],
    )
    app[SETTINGS] = settings
    app[routes.DB_SECONDS] = routes.db_histogram(app)
    app[routes.LIMITER] = routes.limiter(settings.pool_max * (1 + settings.queue_factor))
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
