"""HTTP handlers: validate, shed load beyond the cap, call the masked SQL, return the contract as JSON."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import Histogram

from ..common.concurrency import InflightCap
from ..common.contract import DIAGNOSIS_REQUEST, SUMMARY_REQUEST
from ..common.db import POOL
from ..common.errors import Unavailable
from ..common.validation import normalise_codes
from ..common.web import METRICS, json_response, parse_body
from . import queries
from .settings import SETTINGS


def limiter(cap: int) -> InflightCap:
    """In-flight cap in database connections: past it, a 503 at once beats queueing without bound."""
    return InflightCap(cap, lambda: Unavailable("service saturé, réessayez dans un instant", retry_after=1))


LIMITER = web.AppKey("limiter", InflightCap)
DB_SECONDS = web.AppKey("db_seconds", Histogram)

routes = web.RouteTableDef()


def db_histogram(app: web.Application) -> Histogram:
    """Time spent in the database per call, registered on the app's own registry."""
    return Histogram(
        "aggregate_db_seconds",
        "Time in the database per call",
        ["call"],
        registry=app[METRICS].registry,
        buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )


@routes.post("/v1/diagnosis")
async def post_diagnosis(request: web.Request) -> web.Response:
    """The masked territorial diagnosis of the selection."""
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    body = await parse_body(request, DIAGNOSIS_REQUEST)
    codes = normalise_codes(body.communes, settings.max_communes)
    ald = list(dict.fromkeys(a.strip() for a in body.ald))
    with request.app[LIMITER].hold(queries.DIAGNOSIS_CONNECTIONS):
        db_started = time.perf_counter()
        result = await queries.diagnosis(
            request.app[POOL], codes, ald, acquire_timeout=settings.acquire_timeout_s
        )
        db = time.perf_counter() - db_started
    request.app[DB_SECONDS].labels("diagnosis").observe(db)
    return _timed(json_response(result), started, db)


@routes.post("/v1/summary")
async def post_summary(request: web.Request) -> web.Response:
    """Header-bar figures of the selection."""
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    body = await parse_body(request, SUMMARY_REQUEST)
    codes = normalise_codes(body.communes, settings.max_communes)
    with request.app[LIMITER].hold(queries.SUMMARY_CONNECTIONS):
        db_started = time.perf_counter()
        result = await queries.summary(request.app[POOL], codes, acquire_timeout=settings.acquire_timeout_s)
        db = time.perf_counter() - db_started
    request.app[DB_SECONDS].labels("summary").observe(db)
    return _timed(json_response(result), started, db)


def _timed(response: web.Response, started: float, db: float) -> web.Response:
    # Server-Timing lets a client or a benchmark see the server-side split without a profiler:
    # db = SQL round trip + typed decode of the masked JSON, total = whole handler including encode.
    total = time.perf_counter() - started
    response.headers["Server-Timing"] = f"db;dur={db * 1000:.2f}, total;dur={total * 1000:.2f}"
    return response
