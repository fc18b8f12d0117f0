"""What a selection is checked against: the known and selectable codes, PLM parents, ALD ids, data version.

Loaded once at start (so validation costs no query) and re-checked periodically: a new data version swaps the
whole catalogue at once, which also moves every cache key to the new version. The loaded sources (vintages,
demo flag) ride along: they change with the data version, so `/api/v1/meta` needs no query either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

from services.common.contract import Source
from services.common.db import DB_RETRY_AFTER_S, POOL, db_errors
from services.common.errors import Unavailable

from . import queries
from .metrics import GW_METRICS
from .settings import SETTINGS

log = logging.getLogger("rezone.gateway.catalogue")


class Catalogue:
    """Immutable snapshot; replaced whole when the data version changes."""

    def __init__(
        self,
        version: str,
        rows: list[Any],
        ald: list[str],
        sources: list[Source],
        successors: dict[str, dict[str, str | None]] | None = None,
    ) -> None:
        self.version = version
        self.sources = sources
        self.demo = any(s.is_demo for s in sources)
        self.known = frozenset(r["code"] for r in rows)
        self.selectable = frozenset(r["code"] for r in rows if r["selectable"])
        plm: dict[str, list[str]] = {}
        for r in rows:
            if r["parent_code"] is not None:
                plm.setdefault(r["parent_code"], []).append(r["code"])
        self.plm = {parent: sorted(children) for parent, children in plm.items()}
        self.ald = frozenset(ald)
        # Codes that no longer exist -> the commune that absorbed them (ref.commune_successors).
        self.successors = successors or {}


class CatalogueHolder:
    """Mutable pointer to the current Catalogue, so handlers always read one consistent snapshot."""

    def __init__(self) -> None:
        self.current: Catalogue | None = None

    def set(self, app: web.Application, catalogue: Catalogue) -> None:
        """Swap in a new snapshot and publish its version."""
        self.current = catalogue
        if GW_METRICS in app:
            app[GW_METRICS].data_version.clear()
            app[GW_METRICS].data_version.labels(catalogue.version).set(1)

    def get(self) -> Catalogue:
        """The current snapshot; 503 + Retry-After until the first load (database down at start-up)."""
        if self.current is None:
            raise Unavailable(
                "catalogue des communes pas encore chargé (base de données injoignable)",
                retry_after=DB_RETRY_AFTER_S,
            )
        return self.current


CATALOGUE = web.AppKey("catalogue", CatalogueHolder)


async def load(pool: asyncpg.Pool) -> Catalogue:
    """Read a fresh catalogue (version first, so a concurrent reload at worst tags new rows as old)."""
    async with db_errors(), pool.acquire() as conn:
        version = await queries.data_version(conn)
        rows, ald = await queries.catalogue_rows(conn)
        sources = await queries.data_sources(conn)
        successors = await queries.successors(conn)
    return Catalogue(version, rows, ald, sources, successors)


async def _refresh_loop(app: web.Application, every: float) -> None:
    holder = app[CATALOGUE]
    delay = 0.25
    while True:
        # Until the first load succeeds (database down at start-up), retry with a capped backoff.
        await asyncio.sleep(every if holder.current is not None else delay)
        delay = min(every, delay * 2)
        try:
            if holder.current is None:
                _loaded(holder, app, await load(app[POOL]))
                continue
            async with db_errors(), app[POOL].acquire() as conn:
                version = await queries.data_version(conn)
            if version != holder.get().version:
                holder.set(app, await load(app[POOL]))
                log.info("data version changed", extra={"data_version": version})
        except Exception as exc:  # keep serving with the snapshot we have; readiness reports the database
            log.warning("catalogue refresh failed", extra={"error": str(exc)})


def _loaded(holder: CatalogueHolder, app: web.Application, catalogue: Catalogue) -> None:
    holder.set(app, catalogue)
    log.info("catalogue loaded", extra={"data_version": catalogue.version, "communes": len(catalogue.known)})


async def catalogue_ready(app: web.Application) -> None:
    """Readiness: the catalogue is loaded (no selection can be validated without it)."""
    app[CATALOGUE].get()


async def catalogue_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: a first load attempt (the database may be down: the loop then retries), then periodic
    re-checks."""
    holder = app[CATALOGUE]
    try:
        _loaded(holder, app, await load(app[POOL]))
    except Exception as exc:  # started before the database: serve 503 until the loop loads it
        log.warning("catalogue not loaded at start-up, retrying", extra={"error": str(exc)})
    task = asyncio.create_task(_refresh_loop(app, app[SETTINGS].catalogue_refresh_s))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
