"""Pre-warm the selection cache with the perimeters of the existing CPTS, in the background.

Readiness does not wait for it, and a bounded number of fetches run at once so the aggregate service
is not flooded at every gateway start; perimeters that no longer validate (commune merged, over the limit)
are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from services.common.contract import DiagnosisRequest, SummaryRequest
from services.common.db import POOL, db_errors
from services.common.errors import ServiceError

from . import queries
from .cache import CACHE
from .catalogue import CATALOGUE
from .normalise import cache_key, normalise
from .settings import SETTINGS
from .upstream import UPSTREAMS

log = logging.getLogger("rezone.gateway.prewarm")


async def prewarm(app: web.Application) -> dict[str, int]:
    """Fetch diagnosis and summary of every CPTS perimeter into the cache; returns counts by outcome."""
    settings = app[SETTINGS]
    async with db_errors(), app[POOL].acquire() as conn:
        perimeters = await queries.cpts_perimeters(conn)
    slots = asyncio.Semaphore(settings.prewarm_concurrency)
    counts = {"warmed": 0, "skipped": 0, "failed": 0}
    aggregate = app[UPSTREAMS]["aggregate"]

    async def warm(raw: list[str]) -> None:
        catalogue = app[CATALOGUE].get()
        try:
            codes = normalise(raw, catalogue, settings.max_communes)
        except ServiceError:
            counts["skipped"] += 1
            return
        async with slots:
            # Same keys and bodies as routes._through_cache builds for a request without options.
            for endpoint, path, key, body in (
                (
                    "diagnosis",
                    "/v1/diagnosis",
                    cache_key(catalogue.version, "diagnosis", codes, "ald="),
                    DiagnosisRequest(communes=list(codes)),
                ),
                (
                    "summary",
                    "/v1/summary",
                    cache_key(catalogue.version, "summary", codes),
                    SummaryRequest(communes=list(codes)),
                ),
            ):
                try:
                    await app[CACHE].get_or_fetch(
                        endpoint,
                        key,
                        functools.partial(aggregate.post_json, path, body, settings.diagnosis_timeout_s),
                    )
                except ServiceError:
                    counts["failed"] += 1
                    return
        counts["warmed"] += 1

    await asyncio.gather(*(warm(p) for p in perimeters))
    return counts


async def _run(app: web.Application) -> None:
    try:
        counts = await prewarm(app)
        log.info("cache pre-warmed with the CPTS perimeters", extra=counts)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a failed warm-up only means colder first requests
        log.warning("cache pre-warm failed", extra={"error": repr(exc)})


async def prewarm_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the warm-up after start-up, cancel it if the app stops first."""
    task = asyncio.create_task(_run(app)) if app[SETTINGS].prewarm else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
