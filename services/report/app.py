"""Report service: PDF report, CSV export and project files of a selection of communes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from aiohttp import web
from prometheus_client import Gauge, Histogram

from services.common.db import database_ready, pg_ctx
from services.common.web import METRICS, base_app

from . import routes
from .render import Renderer
from .upstream import AggregateClient


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Environment `REZONE_REPORT_*` (and `DATABASE_URL`)."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8083
    aggregate_url: str = "http://127.0.0.1:8082"
    aggregate_timeout_s: float = 10.0
    aggregate_connect_timeout_s: float = 2.0
    # A 100-commune diagnosis is about 200 KB of JSON; anything near this cap is not a diagnosis.
    aggregate_max_bytes: int = 8 << 20
    # Geometry and COG lookups only read public reference tables: no role switch is needed, one may be set.
    db_role: str | None = None
    pool_min: int = 1
    pool_max: int = 4
    statement_timeout_s: float = 5.0
    max_communes: int = 100
    # Long enough for any real name and for the 10 KB hostile strings of the tests; printed in full, in small
    # type, at the end of the report when it exceeds the cover's length.
    max_name_length: int = 12_000
    # 100 codes, a 12 000-character name and ALD ids fit in well under 64 KiB.
    client_max_size: int = 65_536
    project_max_bytes: int = 65_536
    # Compiles run in threads: as many as cores, a short queue, then 503 + Retry-After.
    max_parallel_renders: int = 2
    max_queued_renders: int = 4
    render_timeout_s: float = 20.0
    # Tagged PDF (structure for screen readers): measured to double the compile time of a 100-commune report
    # and triple its size (see docs/benchmarks.md), so it is opt-in.
    pdf_tags: bool = False
    shutdown_timeout_s: float = 60.0
    log_level: str = "INFO"


def _aggregate_ctx(settings: Settings):
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


def _renderer_ctx(settings: Settings):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        renderer = Renderer(
            max_parallel=settings.max_parallel_renders,
            max_queued=settings.max_queued_renders,
            timeout_s=settings.render_timeout_s,
            pdf_tags=settings.pdf_tags,
        )
        app[routes.RENDERER] = renderer
        # The render queue, read at scrape time: waiting = compiling + queued; at capacity the next report is
        # refused with 503 (the saturation alert of deploy/prometheus/rules.yaml).
        registry = app[METRICS].registry
        Gauge(
            "report_renders_waiting", "Reports compiling or queued for a compile slot", registry=registry
        ).set_function(lambda: renderer.waiting)
        Gauge(
            "report_renders_capacity", "Compiling + queued reports accepted before 503", registry=registry
        ).set_function(lambda: renderer.max_waiting)
        yield

    return ctx


async def aggregate_ready(app: web.Application) -> None:
    """Readiness: the aggregate service answers."""
    await app[routes.AGGREGATE].ready()


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application; nothing connects before start-up."""
    app = base_app(
        "report", readiness=[database_ready, aggregate_ready], client_max_size=settings.client_max_size
    )
    app[routes.SETTINGS] = settings
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
    app.cleanup_ctx.append(_aggregate_ctx(settings))
    app.cleanup_ctx.append(_renderer_ctx(settings))
    app.add_routes(routes.routes)
    return app
