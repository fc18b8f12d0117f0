"""PostgreSQL pool lifecycle and the translation of asyncpg errors at the database edge."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import asyncpg
from aiohttp import web
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .errors import Unavailable, UpstreamTimeout
from .settings import redact_dsn
from .web import METRICS

POOL = web.AppKey("pool", asyncpg.Pool)
log = logging.getLogger("rezone.db")


def pg_ctx(
    dsn: str,
    *,
    app_name: str,
    min_size: int = 1,
    max_size: int = 10,
    statement_timeout_s: float = 10.0,
    role: str | None = None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx entry creating the pool, checking it once, and closing it on shutdown.

    `role` is set at connection start-up, so it is the session default: even `RESET ROLE` or the pool's
    `RESET ALL` on release come back to it, never to the login role.
    """

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            command_timeout=statement_timeout_s,
            server_settings={
                "application_name": app_name,
                "statement_timeout": str(int(statement_timeout_s * 1000)),
                **({"role": role} if role else {}),
            },
        )
        await pool.fetchval("SELECT 1")
        log.info("database pool ready", extra={"dsn": redact_dsn(dsn), "max_size": max_size})
        app[POOL] = pool
        metrics = app.get(METRICS)
        if metrics is not None:
            metrics.registry.register(PoolCollector(pool, metrics.service))
        yield
        await pool.close()

    return ctx


class PoolCollector(Collector):
    """Gauges of one asyncpg pool, read at scrape time: saturation is `in_use / max` (deploy/prometheus)."""

    def __init__(self, pool: asyncpg.Pool, service: str) -> None:
        self.pool = pool
        self.service = service

    def collect(self) -> Iterator[Metric]:  # noqa: D102
        size, idle = self.pool.get_size(), self.pool.get_idle_size()
        conns = GaugeMetricFamily(
            "db_pool_connections", "Open pool connections by state", labels=["service", "state"]
        )
        conns.add_metric([self.service, "in_use"], size - idle)
        conns.add_metric([self.service, "idle"], idle)
        yield conns
        limit = GaugeMetricFamily("db_pool_max_connections", "Pool size limit", labels=["service"])
        limit.add_metric([self.service], self.pool.get_max_size())
        yield limit


@contextlib.asynccontextmanager
async def db_errors() -> AsyncIterator[None]:
    """Turn driver failures into domain errors so handlers never see asyncpg types."""
    try:
        yield
    except (TimeoutError, asyncpg.QueryCanceledError) as exc:
        raise UpstreamTimeout("la base de données n'a pas répondu à temps") from exc
    except (
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
        ConnectionError,
        OSError,
        asyncpg.InterfaceError,
    ) as exc:
        raise Unavailable("base de données injoignable") from exc


async def database_ready(app: web.Application) -> None:
    """Readiness probe body: one round trip through the pool."""
    async with db_errors():
        await app[POOL].fetchval("SELECT 1", timeout=2.0)
