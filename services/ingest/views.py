"""Refresh of the `stats` materialised views (V0003) at the end of a load."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import asyncpg

log = logging.getLogger("rezone.ingest.views")

_COMMUNE_FIRST_INDEX = """
    SELECT quote_ident(c.relname)   -- CLUSTER … USING takes the bare name (the index is in the view's schema)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = $1::regclass AND a.attname = 'commune_code'
    ORDER BY i.indisunique DESC, i.indexrelid
    LIMIT 1"""

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
    "stats.reference_demography": frozenset({"ps_demographie"}),
    "stats.commune_activity": frozenset({"ps_activite"}),
    "stats.commune_acts": frozenset({"ps_actes"}),
    "stats.reference_activity": frozenset({"ps_activite"}),
    "stats.reference_acts": frozenset({"ps_actes", "ps_activite"}),
    "stats.finess_groups_et": frozenset({"finess"}),
    "stats.commune_finess": frozenset({"finess"}),
    "stats.commune_cds": frozenset({"finess", "ecds"}),
    "stats.commune_profile": frozenset({"dcir_consommants", "zonage", "qpv", "cpts"}),
    # Secrecy decided per commune (V0100): each reads the views above it, so it comes after them.
    "stats.commune_age_kept": frozenset({"dcir_consommants"}),
    "stats.reference_age_bands_kept": frozenset({"dcir_consommants"}),
    "stats.commune_indicators_kept": frozenset(
        {"dcir_consommants", "dcir_indicateurs", "atih_indicateurs", "dcir_grippe"}
    ),
    "stats.reference_indicators_kept": frozenset(
        {"dcir_consommants", "dcir_indicateurs", "atih_indicateurs", "dcir_grippe"}
    ),
    "stats.commune_demography_kept": frozenset({"ps_demographie"}),
    "stats.commune_activity_kept": frozenset({"ps_activite", "ps_actes"}),
    "stats.reference_activity_kept": frozenset({"ps_activite", "ps_actes"}),
    "stats.reference_acts_kept": frozenset({"ps_activite", "ps_actes"}),
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
        if not mode and view.startswith("stats.commune_"):
            index = await conn.fetchval(_COMMUNE_FIRST_INDEX, view)
            if index:
                # The rows of one commune side by side: a 100-commune diagnosis then reads about 100 pages of
                # the indicator view instead of about 5,000 (p95 50.8 -> 29.4 ms, docs/benchmarks.md). Only
                # after a plain refresh: CLUSTER locks readers out, which a CONCURRENTLY reload must not do.
                await conn.execute(f"CLUSTER {view} USING {index}")
        # VACUUM also sets the visibility map, so index-only scans work from the first request.
        await conn.execute(f"{'ANALYZE' if conn.is_in_transaction() else 'VACUUM (ANALYZE)'} {view}")
        timings[view.removeprefix("stats.")] = round(time.perf_counter() - started, 2)
    log.info("views refreshed", extra={"seconds": round(sum(timings.values()), 2), "views": len(timings)})
    return timings
