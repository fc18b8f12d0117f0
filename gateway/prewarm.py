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

from services.common.db import POOL, db_errors
from services.common.errors import ServiceError

from . import queries
from .cache import CACHE
from .catalogue import CATALOGUE
from .normalise import normalise
from .relays import RELAY, Ask
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

    async def warm(raw: list[str]) -> None:
        catalogue = app[CATALOGUE].get()
        try:
            codes = normalise(raw, catalogue, settings.max_communes)
        except ServiceError:
            counts["skipped"] += 1
            return
        async with slots:
            # The very keys and bodies a request without options makes (the relays build both).
            for relay in (RELAY["diagnosis"], RELAY["summary"]):
                key, body = relay.call(catalogue.version, Ask(codes=codes))
                client = app[UPSTREAMS][relay.upstream]
                try:
                    await app[CACHE].get_or_fetch(
                        relay.name,
                        key,
                        functools.partial(client.post_json, relay.path, body, relay.timeout(settings)),
                    )
                except ServiceError:
                    counts["failed"] += 1
                    return
        counts["warmed"] += 1

    await asyncio.gather(*(warm(p) for p in perimeters))
    return counts


async def _run(app: web.Application) -> None:
    while app[CATALOGUE].current is None:  # database down at start-up: warm once it is back
        await asyncio.sleep(1.0)
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
