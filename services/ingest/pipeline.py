"""The whole load: reference first, then the demo files (generated when missing or outdated), then every
health source whose file changed, then the `stats` views, then the post-load steps (tiles).

All of it runs in one transaction that ends by publishing a new generation (loadstate.py): readers keep the
previous data, whole, until the commit, and see the new data, whole, after it. A source's checksum is
written by the same transaction as its rows and its views, so a load killed at any point leaves the
previous generation exactly as it was, and a rejected file (any source) loads nothing at all. Before it
starts, the load inspects what it finds (an interrupted attempt, rows missing behind a checksum, views
refreshed for another data version) and repairs it in the same transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from ..common.errors import ImportRejected
from ..tiles import build as tiles_build
from ..tiles.build.pyramid import prune_pyramids
from . import datafrance, demo, loadstate, views
from .files import SourceFile, sha256_of
from .sources import SOURCES, loaded_sha256, real_file

log = logging.getLogger("rezone.ingest")

PostLoadStep = Callable[[asyncpg.Connection, Path], Awaitable[dict[str, Any]]]

# Steps run after the views, in order, with (conn, data_dir), inside the load's transaction; each must be
# idempotent and cheap when nothing changed (it can compare ref.data_version()). Register a step by adding a
# (name, function) pair here.
POST_LOAD_STEPS: list[tuple[str, PostLoadStep]] = [("tiles", tiles_build.build)]
# One loader at a time on a database (a developer's `make load` racing a Kubernetes Job).
_LOAD_LOCK = 0x52454C44  # "RELD"


async def run_load(
    conn: asyncpg.Connection, *, data_dir: Path, force: bool = False, accept_shrink: bool = False
) -> dict[str, Any]:
    """Load what changed (or everything with `force`); returns a summary per step, with timings."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOAD_LOCK)
    try:
        found = await loadstate.begin(conn)
        try:
            async with conn.transaction():
                summary = await _load(conn, data_dir, force, accept_shrink, found)
        except ImportRejected as exc:
            await loadstate.record_outcome(conn, f"rejected: {exc}")
            raise
        except asyncpg.PostgresError as exc:
            await loadstate.record_outcome(conn, f"failed: {exc}")
            raise
        await _after_commit(conn, data_dir, summary)
        return summary
    finally:
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOAD_LOCK)


async def _load(
    conn: asyncpg.Connection, data_dir: Path, force: bool, accept_shrink: bool, found: loadstate.Inspection
) -> dict[str, Any]:
    summary: dict[str, Any] = {"repaired": found.summary()} if not found.empty else {}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    served = not found.empty

    cache = data_dir / "cache"
    reference_reloaded = force or bool(found.reference_broken) or await datafrance.needs_load(conn)
    if reference_reloaded:
        summary["reference"] = await datafrance.load(conn, cache, served=served)
    else:
        summary["reference"] = "unchanged"
    timings["reference"] = _lap(started)

    step = time.perf_counter()
    demo_files, regenerated = await demo.ensure(conn, data_dir / "demo")
    summary["demo_files"] = "generated" if regenerated else "unchanged"
    timings["demo_files"] = _lap(step)

    loaded = await loaded_sha256(conn)
    changed: list[str] = []
    for source in SOURCES:
        step = time.perf_counter()
        real = real_file(data_dir / "sources", source)
        path = real or data_dir / "demo" / demo_files[source.key]
        sha = sha256_of(path)
        broken = source.key in found.broken_sources
        if not reference_reloaded and not broken and loaded.get(source.key) == sha:
            summary[source.key] = "unchanged"
            continue
        file = SourceFile(
            source.key,
            source.label,
            source.block,
            path,
            is_demo=real is None,
            sha256=sha,
            rebuilding=not served,
            accept_shrink=accept_shrink or broken,  # a broken source's recorded count is no reference
        )
        try:
            summary[source.key] = await source.load(conn, file)
        except ImportRejected as exc:
            log.error(
                "import rejected: nothing loaded",
                extra={"source": source.key, "file": exc.file, "line": exc.line, "reason": exc.reason},
            )
            raise
        changed.append(source.key)
        timings[source.key] = _lap(step)

    step = time.perf_counter()
    if not served or reference_reloaded or found.views_stale:
        # Everything may have changed: refresh every view (plainly when nobody reads: several times faster).
        summary["views"] = await views.refresh(conn, concurrently=served)
    elif changed:
        summary["views"] = await views.refresh(conn, changed)
    else:
        summary["views"] = "unchanged"
    timings["views"] = _lap(step)

    for name, run in POST_LOAD_STEPS:
        step = time.perf_counter()
        summary[name] = await run(conn, data_dir)
        timings[name] = _lap(step)

    summary["generation"] = await loadstate.publish(conn)
    timings["total"] = _lap(started)
    summary["timings"] = timings
    log.info("load published", extra={"seconds": timings, "generation": summary["generation"]})
    return summary


async def _after_commit(conn: asyncpg.Connection, data_dir: Path, summary: dict[str, Any]) -> None:
    """What must not run inside the transaction: VACUUM (visibility maps for index-only scans) and the
    removal of pyramids of versions no reader can ask for any more. Harmless if killed: the next load redoes
    it."""
    if summary.get("views") not in (None, "unchanged"):
        for view in summary["views"]:
            await conn.execute(f"VACUUM (ANALYZE) stats.{view}")
    version = await conn.fetchval("SELECT tiles.version()")
    if version:
        prune_pyramids(data_dir / "tiles", version)


def _lap(since: float) -> float:
    return round(time.perf_counter() - since, 2)
