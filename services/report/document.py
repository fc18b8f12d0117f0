"""One report end to end: diagnosis and geometry fetched concurrently, map drawn, view built, PDF compiled.

Timings of each step are recorded in a Prometheus histogram, so that « where the time goes » can be read
from /metrics as well as from the benchmark.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable
from typing import TypeVar

import asyncpg
import msgspec
from prometheus_client import Histogram

from services.common.contract import Diagnosis
from services.common.db import connection

from . import mapplan, mapsvg, queries, view
from .model import MapView
from .render import Renderer
from .upstream import AggregateClient

T = TypeVar("T")
_ENC = msgspec.json.Encoder()
OVERVIEW_TOLERANCE_DEG = 0.03


class StepTimer:
    """Wall time per step of a report (diagnosis, geometry, svg, view, typst)."""

    def __init__(self, histogram: Histogram | None) -> None:
        self.histogram = histogram
        self.steps: dict[str, float] = {}

    async def timed(self, step: str, aw: Awaitable[T]) -> T:
        """Await `aw` and record how long it took."""
        started = time.perf_counter()
        try:
            return await aw
        finally:
            self.record(step, time.perf_counter() - started)

    def record(self, step: str, seconds: float) -> None:
        """Record a step's duration."""
        self.steps[step] = self.steps.get(step, 0.0) + seconds
        if self.histogram is not None:
            self.histogram.labels(step).observe(seconds)

    def header(self) -> str:
        """Server-Timing header value (milliseconds)."""
        return ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in self.steps.items())


async def _map(
    pool: asyncpg.Pool, codes: list[str], timer: StepTimer, acquire_timeout_s: float
) -> tuple[MapView, dict[str, str]]:
    started = time.perf_counter()
    async with connection(pool, acquire_timeout_s) as conn:
        selected = await queries.selected_shapes(conn, codes)
        plan = mapplan.plan(selected)
        frames = plan.frames
        context = await queries.context_shapes(
            conn,
            [f.envelope_4326() for f in frames],
            [f.tolerance_deg() for f in frames],
            [mapplan.wants_context_communes(f) for f in frames],
            codes,
        )
        finess = await queries.finess_points(conn, codes)
        overview = None
        if plan.overview is not None:
            overview = await queries.overview_shapes(conn, OVERVIEW_TOLERANCE_DEG)
        qpv_names = await queries.qpv_names(conn, codes)
    timer.record("geometry", time.perf_counter() - started)
    started = time.perf_counter()
    # Projection and path building are CPU work: off the event loop.
    drawn = await asyncio.to_thread(mapsvg.draw, plan, selected, context, finess, overview)
    timer.record("svg", time.perf_counter() - started)
    return drawn, qpv_names


async def report_pdf(
    *,
    aggregate: AggregateClient,
    pool: asyncpg.Pool,
    renderer: Renderer,
    codes: list[str],
    ald: list[str],
    name: str | None,
    date: dt.date,
    timer: StepTimer,
    acquire_timeout_s: float,
) -> tuple[bytes, Diagnosis]:
    """The PDF of a selection and the diagnosis it was made from."""
    try:
        # A refused selection (unknown commune…) cancels the geometry work at once.
        async with asyncio.TaskGroup() as tg:
            diagnosis_task = tg.create_task(timer.timed("diagnosis", aggregate.diagnosis(codes, ald)))
            map_task = tg.create_task(_map(pool, codes, timer, acquire_timeout_s))
    except ExceptionGroup as group:
        raise group.exceptions[0] from None
    diagnosis, (drawn, qpv_names) = diagnosis_task.result(), map_task.result()
    started = time.perf_counter()
    data = _ENC.encode(view.build(diagnosis, drawn, name=name, date=date, qpv_names=qpv_names))
    timer.record("view", time.perf_counter() - started)
    pdf = await timer.timed("typst", renderer.pdf(data, date))
    return pdf, diagnosis
