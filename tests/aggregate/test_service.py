"""The service around the SQL: health, readiness, metrics, timing header, request id, load shedding."""

from __future__ import annotations

import asyncio

import pytest

from services.aggregate.app import create_app
from services.aggregate.routes import LIMITER
from services.aggregate.settings import Settings

from .conftest import SEED_SIX

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_health_metrics_and_headers(aiohttp_client, database_url: str) -> None:
    client = await aiohttp_client(create_app(Settings(database_url=database_url, pool_min=1, pool_max=3)))
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
    resp = await client.post("/v1/diagnosis", json={"communes": SEED_SIX}, headers={"X-Request-ID": "abc123"})
    assert resp.status == 200
    assert resp.headers["X-Request-ID"] == "abc123"
    timing = dict(part.strip().split(";dur=") for part in resp.headers["Server-Timing"].split(","))
    assert float(timing["total"]) >= float(timing["db"]) > 0
    metrics = await (await client.get("/metrics")).text()
    assert 'aggregate_db_seconds_count{call="diagnosis"} 1.0' in metrics
    assert (
        'http_requests_total{method="POST",route="/v1/diagnosis",service="aggregate",status="200"}' in metrics
    )


async def test_sheds_load_beyond_the_cap(aiohttp_client, database_url: str) -> None:
    # pool_max 3 and no queue: one diagnosis (three connections) at a time, the others refused at once.
    app = create_app(Settings(database_url=database_url, pool_min=1, pool_max=3, queue_factor=0))
    client = await aiohttp_client(app)
    responses = await asyncio.gather(
        *(client.post("/v1/diagnosis", json={"communes": SEED_SIX}) for _ in range(6))
    )
    statuses = sorted(r.status for r in responses)
    assert 200 in statuses and 503 in statuses
    refused = next(r for r in responses if r.status == 503)
    assert refused.headers["Retry-After"] == "1"
    assert (await refused.json())["code"] == "unavailable"


async def test_cap_counts_connections_not_requests(aiohttp_client, database_url: str) -> None:
    # pool_max 4 and no queue: four summaries (one connection each) fit at once; a diagnosis (three)
    # beside them does not, and comes back with the 503 of the cap.
    app = create_app(Settings(database_url=database_url, pool_min=1, pool_max=4, queue_factor=0))
    client = await aiohttp_client(app)
    summaries = await asyncio.gather(
        *(client.post("/v1/summary", json={"communes": SEED_SIX}) for _ in range(4))
    )
    assert [r.status for r in summaries] == [200] * 4
    cap = app[LIMITER]
    cap.acquire(2)  # two summaries' worth in flight: a diagnosis no longer fits
    try:
        refused = await client.post("/v1/diagnosis", json={"communes": SEED_SIX})
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert (await client.post("/v1/summary", json={"communes": SEED_SIX})).status == 200
    finally:
        cap.release(2)
    assert cap.in_flight == 0
    assert (await client.post("/v1/diagnosis", json={"communes": SEED_SIX})).status == 200


@pytest.fixture(scope="module")
def empty_dsn(make_empty_database) -> str:
    """A fresh database with no migration (created outside the event loop)."""
    return make_empty_database()


async def test_not_ready_without_migrations(aiohttp_client, empty_dsn: str) -> None:
    """A database without the api functions: /readyz says so, and requests get 503, never a 500."""
    settings = Settings(database_url=empty_dsn, pool_min=1, pool_max=3)
    client = await aiohttp_client(create_app(settings))
    ready = await client.get("/readyz")
    assert ready.status == 503 and "api_ready" in (await ready.json())["failures"]
    resp = await client.post("/v1/summary", json={"communes": ["04028"]})
    assert resp.status == 503 and (await resp.json())["code"] == "unavailable"
