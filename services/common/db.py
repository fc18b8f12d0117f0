"""PostgreSQL pool lifecycle and the translation of asyncpg errors at the database edge."""

from __future__ import annotations

import asyncio
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
DB_RETRY_AFTER_S = 5
# Every pooled connection busy for the whole acquire timeout: the service is saturated (shedding, come back
# soon), not a database that did not answer (504): a second, like the in-flight caps' Retry-After.
BUSY_RETRY_AFTER_S = 1
log = logging.getLogger("rezone.db")


def pg_ctx(
    dsn: str,
    *,
    app_name: str,
    min_size: int = 1,
    max_size: int = 10,
    statement_timeout_s: float = 10.0,
    role: str | None = None,
    connect_timeout_s: float = 5.0,
    retry_max_s: float = 10.0,
    key: web.AppKey[asyncpg.Pool] = POOL,
    label: str | None = None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx entry creating the pool, warming it in the background, and closing it on shutdown.

    The pool is created without opening a connection (asyncpg connects on first acquire when min_size is
    0), so a service started while PostgreSQL is down starts, answers /healthz, and answers /readyz 503
    until the database answers; a background task retries with capped exponential backoff, then opens the
    `min_size` warm connections. During an outage each acquire fails fast into a 503 + Retry-After
    (db_errors) and the pool reconnects by itself afterwards.

    `role` is set at connection start-up, so it is the session default: even `RESET ROLE` or the pool's
    `RESET ALL` on release come back to it, never to the login role. A second pool of a service goes under
    its own `key`, its gauges under its own `label` (the service's name by default).
    """

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=max_size,
            command_timeout=statement_timeout_s,
            timeout=connect_timeout_s,
            server_settings={
                "application_name": app_name,
                "statement_timeout": str(int(statement_timeout_s * 1000)),
                **({"role": role} if role else {}),
            },
        )
        app[key] = pool
        warm = asyncio.create_task(_warm(pool, dsn, min_size, retry_max_s))
        metrics = app.get(METRICS)
        if metrics is not None:
            metrics.registry.register(PoolCollector(pool, label or metrics.service))
        yield
        warm.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warm
        await pool.close()

    return ctx


async def _warm(pool: asyncpg.Pool, dsn: str, min_size: int, retry_max_s: float) -> None:
    """Wait for the database (capped exponential backoff), then open `min_size` connections."""
    delay, attempts = 0.25, 0
    while True:
        attempts += 1
        try:
            await pool.fetchval("SELECT 1")
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            if attempts == 1 or attempts % 10 == 0:  # a line now and then, not one per retry
                log.warning(
                    "database unreachable, retrying",
                    extra={"dsn": redact_dsn(dsn), "error": str(exc) or type(exc).__name__, "retry_s": delay},
                )
            await asyncio.sleep(delay)
            delay = min(retry_max_s, delay * 2)
    log.info("database pool ready", extra={"dsn": redact_dsn(dsn), "attempts": attempts})
    held = []
    with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        for _ in range(max(0, min_size - 1)):
            held.append(await pool.acquire())
    for conn in held:
        await pool.release(conn)


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
        asyncpg.AdminShutdownError,
        asyncpg.ConnectionDoesNotExistError,
        ConnectionError,
        OSError,
        asyncpg.InterfaceError,
    ) as exc:
        # Retryable: a restart or a failover takes seconds; say when to come back (RFC 9110 §10.2.3).
        raise Unavailable("base de données injoignable", retry_after=DB_RETRY_AFTER_S) from exc


async def database_ready(app: web.Application) -> None:
    """Readiness probe body: one round trip through the pool."""
    async with db_errors():
        await app[POOL].fetchval("SELECT 1")  # bounded by /readyz's ready_timeout_s


@contextlib.asynccontextmanager
async def pooled(pool: asyncpg.Pool, timeout_s: float) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; a pool still full after `timeout_s` is the service saturated, a 503 with
    Retry-After (shedding, which the gateway relays as such and which opens no circuit breaker), not a
    database that did not answer (504)."""
    try:
        conn = await pool.acquire(timeout=timeout_s)
    except TimeoutError as exc:
        raise Unavailable(
            "service saturé : toutes ses connexions à la base sont occupées", retry_after=BUSY_RETRY_AFTER_S
        ) from exc
    try:
        yield conn
    finally:
        await pool.release(conn)


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool, timeout_s: float) -> AsyncIterator[asyncpg.Connection]:
    """`pooled`, with the driver's failures translated (db_errors)."""
    async with db_errors(), pooled(pool, timeout_s) as conn:
        yield conn
