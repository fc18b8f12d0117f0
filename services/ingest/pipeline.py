"""The whole load: reference first, then the demo files (generated when missing or outdated), then every
health source whose file changed, then the `stats` views, then the post-load steps (tiles).

Each source is imported in its own transaction, so a rejected file leaves that source's previous data
intact; the other sources still load, the views are refreshed over what is loaded, and the rejection is
raised at the end so that the command fails loudly.
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
from . import datafrance, demo, views
from .files import SourceFile, sha256_of
from .sources import SOURCES, loaded_sha256, real_file

log = logging.getLogger("rezone.ingest")

PostLoadStep = Callable[[asyncpg.Connection, Path], Awaitable[dict[str, Any]]]

# Steps run after the views, in order, with (conn, data_dir); each must be idempotent and cheap when nothing
# changed (it can compare ref.data_version()). Register a step by adding a (name, function) pair here.
POST_LOAD_STEPS: list[tuple[str, PostLoadStep]] = [("tiles", tiles_build.build)]


async def run_load(conn: asyncpg.Connection, *, data_dir: Path, force: bool = False) -> dict[str, Any]:
    """Load what changed (or everything with `force`); returns a summary per step, with timings."""
    summary: dict[str, Any] = {}
    timings: dict[str, float] = {}
    started = time.perf_counter()

    cache = data_dir / "cache"
    reference_reloaded = force or await datafrance.needs_load(conn)
    if reference_reloaded:
        # The reference load TRUNCATEs ref.communes CASCADE: every health table goes with it.
        summary["reference"] = await datafrance.load(conn, cache)
    else:
        summary["reference"] = "unchanged"
    timings["reference"] = _lap(started)

    step = time.perf_counter()
    demo_files, regenerated = await demo.ensure(conn, data_dir / "demo")
    summary["demo_files"] = "generated" if regenerated else "unchanged"
    timings["demo_files"] = _lap(step)

    loaded = await loaded_sha256(conn)
    rejected: list[ImportRejected] = []
    changed: list[str] = []
    for source in SOURCES:
        step = time.perf_counter()
        real = real_file(data_dir / "sources", source)
        path = real or data_dir / "demo" / demo_files[source.key]
        sha = sha256_of(path)
        if not reference_reloaded and loaded.get(source.key) == sha:
            summary[source.key] = "unchanged"
            continue
        file = SourceFile(
            source.key,
            source.label,
            source.block,
            path,
            is_demo=real is None,
            sha256=sha,
            rebuilding=reference_reloaded,
        )
        try:
            summary[source.key] = await source.load(conn, file)
            changed.append(source.key)
        except ImportRejected as exc:
            log.error(
                "import rejected",
                extra={"source": source.key, "file": exc.file, "line": exc.line, "reason": exc.reason},
            )
            summary[source.key] = f"rejected: {exc}"
            rejected.append(exc)
        timings[source.key] = _lap(step)

    step = time.perf_counter()
    if reference_reloaded or not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM stats.commune_profile)"):
        # Everything was rebuilt: plain refreshes are several times faster, and the previous rows belong to
        # a reference that no longer exists, so there is nothing worth serving meanwhile.
        summary["views"] = await views.refresh(conn, concurrently=False)
    elif changed:
        summary["views"] = await views.refresh(conn, changed)
    else:
        summary["views"] = "unchanged"
    timings["views"] = _lap(step)

    for name, run in POST_LOAD_STEPS:
        step = time.perf_counter()
        summary[name] = await run(conn, data_dir)
        timings[name] = _lap(step)

    timings["total"] = _lap(started)
    summary["timings"] = timings
    log.info("load finished", extra={"seconds": timings})
    if rejected:
        raise rejected[0]
    return summary


def _lap(since: float) -> float:
    return round(time.perf_counter() - since, 2)
