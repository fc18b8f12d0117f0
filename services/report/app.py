"""Report service: PDF report, CSV export and project files of a selection of communes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import Gauge, Histogram

from services.common.db import database_ready, pg_ctx
from services.common.web import METRICS, base_app

from . import batch, routes
from .jobs import queue_ctx
from .render import Renderer
from .settings import QUEUE_POOL, SETTINGS, Settings
from .upstream import AggregateClient


def _aggregate_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        client = AggregateClient(
            settings.aggregate_url,
            timeout_s=settings.aggregate_timeout_s,
            connect_timeout_s=settings.aggregate_connect_timeout_s,
            max_body=settings.aggregate_max_bytes,
        )
        await client.start()
        app[routes.AGGREGATE] = client
        yield
        await client.close()

    return ctx


def _renderer_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        renderer = Renderer(
            max_parallel=settings.max_parallel_renders,
            max_queued=settings.max_queued_renders,
            timeout_s=settings.render_timeout_s,
            pdf_standard=settings.pdf_standard or None,
        )
        app[routes.RENDERER] = renderer
        # The render queue, read at scrape time: waiting = compiling + queued; at capacity the next report is
        # refused with 503 (the saturation alert of deploy/prometheus/rules.yaml).
        registry = app[METRICS].registry
        Gauge(
            "report_renders_waiting", "Reports compiling or queued for a compile slot", registry=registry
        ).set_function(lambda: renderer.waiting.in_flight)
        Gauge(
            "report_renders_capacity", "Compiling + queued reports accepted before 503", registry=registry
        ).set_function(lambda: renderer.waiting.cap)
        yield

    return ctx


async def aggregate_ready(app: web.Application) -> None:
    """Readiness: the aggregate service answers."""
    await app[routes.AGGREGATE].ready()


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application; nothing connects before start-up."""
    app = base_app(
        "report",
        settings,
        readiness=[database_ready, aggregate_ready],
    )
    app[SETTINGS] = settings
    app[routes.STEPS] = Histogram(
        "report_step_seconds",
        "Time per step of a report",
        ["step"],
        registry=app[METRICS].registry,
        buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 20),
    )
    app.cleanup_ctx.append(
        pg_ctx(
            settings.database_url,
            app_name="rezone-report",
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            statement_timeout_s=settings.statement_timeout_s,
            role=settings.db_role,
        )
    )
    # The batches and their queue are written: a pool on the primary (queue_url), besides the read pool.
    app.cleanup_ctx.append(
        pg_ctx(
            settings.queue_url,
            app_name="rezone-report-batches",
            min_size=1,
            max_size=settings.queue_pool_max,
            statement_timeout_s=settings.statement_timeout_s,
            role=settings.db_role,
            key=QUEUE_POOL,
            label="report-queue",
        )
    )
    app.cleanup_ctx.append(_aggregate_ctx(settings))
    app.cleanup_ctx.append(_renderer_ctx(settings))
    # Last: on shutdown the worker stops first, while the pools, the renderer and the aggregate client its
    # running report needs are still open.
    app.cleanup_ctx.append(queue_ctx(settings))
    app.add_routes(routes.routes)
    app.add_routes(batch.routes)
    return app
