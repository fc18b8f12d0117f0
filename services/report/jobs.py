"""The batch reports' queue: procrastinate (PostgreSQL) shared by every replica, its worker in this process.

Each replica runs one procrastinate worker beside its HTTP server (`queue_ctx`), so the report Deployment
scales both and no other process needs supervising. A job is one report of a batch; the PDF goes into
reports.items (V0321), claimed first, so that a job run twice writes one PDF.

A worker that dies (kill -9, OOM, a node lost) stops sending heartbeats; every replica's maintenance loop
asks procrastinate for the jobs of workers silent for `stalled_after_s` and puts them back in the queue
(`get_stalled_jobs` + `retry_job`, procrastinate's documented recipe). A worker stopped by SIGTERM finishes
its job within `shutdown_timeout_s`, or aborts it, and an aborted job is retried like a failed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import msgspec
import procrastinate
import psycopg_pool
from aiohttp import web
from procrastinate import JobContext, RetryStrategy
from prometheus_client import Counter, Gauge

from services.common.contract import ItemProblem, ReportRequest
from services.common.db import POOL
from services.common.errors import ServiceError, Unavailable, UpstreamTimeout
from services.common.validation import normalise_codes, project_name, report_date
from services.common.web import METRICS

from . import batchqueries
from .document import StepTimer, report_pdf
from .render import RenderTimeout
from .routes import AGGREGATE, RENDERER, STEPS
from .settings import QUEUE_POOL, Settings

log = logging.getLogger("rezone.report.jobs")

# The worker's restart delay after a database failure doubles from 1 s up to this.
BACKOFF_MAX_S = 30.0
TASK = "report.batch_item"
_REQUEST = msgspec.json.Decoder(ReportRequest)
_ENC = msgspec.json.Encoder()
# Worth another attempt: the service or a dependency was busy or away, not the request at fault.
TRANSIENT: tuple[type[BaseException], ...] = (
    Unavailable,
    UpstreamTimeout,
    RenderTimeout,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def restart_delay(previous_s: float, ran_s: float) -> float:
    """The wait before restarting a worker that failed after running `ran_s`, given the previous wait.

    Doubles while the failures come fast (the same outage), capped; a worker that ran longer than the cap met
    a new outage, so the backoff starts over, or one outage a day would leave every later recovery 30 s late.
    """
    if previous_s <= 0 or ran_s > BACKOFF_MAX_S:
        return 1.0
    return min(BACKOFF_MAX_S, previous_s * 2)


class QueueUnavailable(Unavailable):
    """The queue's database cannot be reached: the batch was not written."""

    code = "queue_unavailable"


def _problem(exc: ServiceError) -> str:
    return _ENC.encode(
        ItemProblem(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail)
    ).decode()


class Queue:
    """The procrastinate app of one report service, its task bound to the service's resources."""

    def __init__(self, app: web.Application, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.procrastinate = procrastinate.App(
            connector=procrastinate.PsycopgConnector()  # its pool is ours, given at open (queue_ctx)
        )
        self.procrastinate.task(
            name=TASK,
            queue=settings.batch_queue,
            pass_context=True,
            retry=RetryStrategy(max_attempts=settings.batch_retries, exponential_wait=2),
        )(self._run)
        registry = app[METRICS].registry
        self.depth = Gauge(
            "report_queue_jobs", "Batch report jobs in the queue (all replicas)", ["state"], registry=registry
        )
        for state in ("todo", "doing"):
            self.depth.labels(state).set(0)
        self.outcomes = Counter(
            "report_batch_items",
            "Reports of batches made by this replica's worker",
            ["outcome"],
            registry=registry,
        )
        self.retried = Counter(
            "report_queue_stalled_retried", "Jobs of dead workers put back in the queue", registry=registry
        )

    async def _store(self, write: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        async with self.app[QUEUE_POOL].acquire(timeout=self.settings.acquire_timeout_s) as conn:
            await write(conn)

    async def _run(self, context: JobContext, batch: str, item: int) -> None:
        """Make one report of a batch (the procrastinate task); raising asks procrastinate for a retry."""
        job_id = uuid.UUID(batch)
        async with self.app[QUEUE_POOL].acquire(timeout=self.settings.acquire_timeout_s) as conn:
            raw = await batchqueries.claim(conn, job_id, item)
        if raw is None:  # made by an earlier run of this job, failed for good, or expired
            self.outcomes.labels("skipped").inc()
            return
        last = (context.job.attempts or 0) >= self.settings.batch_retries
        problem: str | None = None
        try:
            pdf, version = await self._render(_REQUEST.decode(raw))
        except TRANSIENT as exc:
            if not last:
                await self._store(lambda c: batchqueries.failed(c, job_id, item, None))
                self.outcomes.labels("retried").inc()
                # Logged, so that a report made twice is explained by its retry (tests/report/test_batch.py).
                log.warning(
                    "batch report retried",
                    extra={"batch": batch, "item": item, "error": str(exc) or type(exc).__name__},
                )
                raise
            problem = _problem(
                exc if isinstance(exc, ServiceError) else QueueUnavailable(str(exc) or "indisponible")
            )
        except ServiceError as exc:  # the request itself cannot be made: no retry changes that
            problem = _problem(exc)
        except Exception as exc:  # a defect: said once, in the logs and to the poller, never retried blindly
            log.exception("batch report failed", extra={"batch": batch, "item": item})
            problem = _problem(ServiceError(f"erreur interne ({type(exc).__name__})"))
        if problem is not None:
            failure = problem
            await self._store(lambda c: batchqueries.failed(c, job_id, item, failure))
            self.outcomes.labels("failed").inc()
            return
        etag = '"' + hashlib.sha256(pdf).hexdigest()[:32] + '"'
        await self._store(lambda c: batchqueries.done(c, job_id, item, pdf, etag, version))
        self.outcomes.labels("ready").inc()
        log.info("batch report made", extra={"batch": batch, "item": item, "bytes": len(pdf)})

    async def _render(self, body: ReportRequest) -> tuple[bytes, str]:
        settings, app = self.settings, self.app
        codes = normalise_codes(body.communes, settings.max_communes)
        pdf, diagnosis = await report_pdf(
            aggregate=app[AGGREGATE],
            pool=app[POOL],
            renderer=app[RENDERER],
            codes=codes,
            ald=list(dict.fromkeys(a.strip() for a in body.ald if a.strip())),
            name=project_name(body.name, settings.max_name_length),
            date=report_date(body.date),
            timer=StepTimer(app[STEPS]),
            acquire_timeout_s=settings.acquire_timeout_s,
        )
        return pdf, diagnosis.data_version

    async def work(self) -> None:
        """Run the worker until cancelled; a lost database restarts it after a capped backoff."""
        s, delay = self.settings, 0.0
        while True:
            started = time.monotonic()
            try:
                await self.procrastinate.run_worker_async(
                    queues=[s.batch_queue],
                    name=f"report-{socket.gethostname()}-{os.getpid()}",
                    concurrency=s.batch_concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=s.heartbeat_s,
                    stalled_worker_timeout=s.stalled_after_s,
                    shutdown_graceful_timeout=s.batch_shutdown_s,
                    fetch_job_polling_interval=s.poll_s,
                )
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = restart_delay(delay, time.monotonic() - started)
                log.warning("queue worker stopped, restarting", extra={"error": str(exc), "retry_s": delay})
                await asyncio.sleep(delay)

    async def maintain(self) -> None:
        """Every `maintenance_s`: retry the jobs of dead workers, delete expired batches, count the queue."""
        manager = self.procrastinate.job_manager
        while True:
            try:
                for job in await manager.get_stalled_jobs(
                    queue=self.settings.batch_queue, seconds_since_heartbeat=self.settings.stalled_after_s
                ):
                    with contextlib.suppress(Exception):  # another replica may have retried it first
                        await manager.retry_job(job)
                        self.retried.inc()
                        log.warning(
                            "stalled job retried", extra={"job": job.id, "task_args": job.task_kwargs}
                        )
                async with self.app[QUEUE_POOL].acquire(timeout=self.settings.acquire_timeout_s) as conn:
                    await batchqueries.expire(conn, self.settings.batch_queue)
                    depth = await batchqueries.depth(conn, self.settings.batch_queue)
                for state, count in depth.items():
                    self.depth.labels(state).set(count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("queue maintenance failed", extra={"error": str(exc)})
            await asyncio.sleep(self.settings.maintenance_s)


def queue_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx entry: the queue's pools, its worker and its maintenance loop (after the renderer's)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        queue = Queue(app, settings)
        # Opened without waiting: a service started while the database is away starts, and connects later.
        pool = psycopg_pool.AsyncConnectionPool(
            settings.queue_url,
            min_size=1,
            max_size=settings.queue_pool_max,
            kwargs={
                "application_name": "rezone-report-queue",
                **({"options": f"-c role={settings.db_role}"} if settings.db_role else {}),
            },
            check=psycopg_pool.AsyncConnectionPool.check_connection,
            open=False,
            timeout=settings.acquire_timeout_s,
            name="report-queue",
        )
        await pool.open(wait=False)
        await queue.procrastinate.open_async(pool=pool)
        app[QUEUE] = queue
        tasks = [asyncio.create_task(queue.maintain(), name="queue-maintenance")]
        if settings.batch_concurrency > 0:
            tasks.append(asyncio.create_task(queue.work(), name="queue-worker"))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await queue.procrastinate.close_async()
        await pool.close()

    return ctx


QUEUE = web.AppKey("queue", Queue)
