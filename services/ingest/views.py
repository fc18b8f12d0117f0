"""Refresh of the `stats` materialised views (V0003, V0004) at the end of a load."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import asyncpg

log = logging.getLogger("rezone.ingest.views")

# Each view with the sources it reads, in dependency order (reference_acts reads reference_activity,
# commune_finess reads finess_groups_et). Every view also reads the reference (ref.communes).
VIEWS: dict[str, frozenset[str]] = {
    "stats.commune_age_bands": frozenset({"dcir_consommants"}),
    "stats.reference_age_bands": frozenset({"dcir_consommants"}),
    "stats.commune_indicators": frozenset(
        {"dcir_consommants", "dcir_indicateurs", "atih_indicateurs", "dcir_grippe"}
    ),
    "stats.reference_indicators": frozenset({"dcir_indicateurs", "atih_indicateurs", "dcir_grippe"}),
    "stats.commune_demography": frozenset({"ps_demographie"}),
    "stats.commune_activity": frozenset({"ps_activite"}),
    "stats.commune_acts": frozenset({"ps_actes"}),
    "stats.reference_activity": frozenset({"ps_activite"}),
    "stats.reference_acts": frozenset({"ps_actes", "ps_activite"}),
    "stats.finess_groups_et": frozenset({"finess"}),
    "stats.commune_finess": frozenset({"finess"}),
    "stats.commune_cds": frozenset({"finess", "ecds"}),
    "stats.commune_profile": frozenset({"dcir_consommants", "zonage", "qpv", "cpts"}),
}


async def refresh(
    conn: asyncpg.Connection, sources: Iterable[str] | None = None, *, concurrently: bool = True
) -> dict[str, float]:
    """Refresh the views reading any of `sources` (all views when None); seconds per view.

    CONCURRENTLY keeps the services reading the previous rows while a reload runs (it needs the unique
    indexes of the migrations and a populated view). An empty view is refreshed plainly: there is nothing
    to keep serving, and the plain refresh is several times faster on the 1.8 M-row indicator view.
    """
    wanted = None if sources is None else frozenset(sources)
    timings: dict[str, float] = {}
    for view, reads in VIEWS.items():
        if wanted is not None and not reads & wanted:
            continue
        started = time.perf_counter()
        populated = await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {view})")
        mode = "CONCURRENTLY " if concurrently and populated else ""
        await conn.execute(f"REFRESH MATERIALIZED VIEW {mode}{view}")
        await conn.execute(f"ANALYZE {view}")
        timings[view.removeprefix("stats.")] = round(time.perf_counter() - started, 2)
    log.info("views refreshed", extra={"seconds": round(sum(timings.values()), 2), "views": len(timings)})
    return timings
