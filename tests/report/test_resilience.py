"""Limits of the report service with real processes: compile time limit, concurrency cap, aggregate loss."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from deploy.local.cluster import free_port
from services.common.db import DB_RETRY_AFTER_S
from services.common.http import UPSTREAM_RETRY_AFTER_S

from .conftest import NO_QUEUE, SMALL

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def post_report(http, url: str) -> tuple[int, dict, dict]:
    async with http.post(f"{url}/v1/report.pdf", json={"communes": SMALL, "date": "2025-01-31"}) as resp:
        body = await resp.read()
        problem = msgspec.json.decode(body) if resp.content_type == "application/problem+json" else {}
        return resp.status, problem, resp.headers.copy()


async def test_compile_time_limit_answers_504(http, run_service, aggregate_url):
    url = run_service(
        "services.report",
        {
            **NO_QUEUE,
            "REZONE_REPORT_AGGREGATE_URL": aggregate_url,
            "REZONE_REPORT_RENDER_TIMEOUT_S": "0.001",
        },
    )
    status, problem, _ = await post_report(http, url)
    assert status == 504
    assert problem["code"] == "render_timeout"
    # the service stays alive and the slot comes back once the compile thread finishes
    async with http.get(f"{url}/healthz") as resp:
        assert resp.status == 200


async def test_concurrency_cap_sheds_with_retry_after(http, run_service, aggregate_url):
    url = run_service(
        "services.report",
        {
            **NO_QUEUE,
            "REZONE_REPORT_AGGREGATE_URL": aggregate_url,
            "REZONE_REPORT_MAX_PARALLEL_RENDERS": "1",
            "REZONE_REPORT_MAX_QUEUED_RENDERS": "0",
        },
    )
    # Requests reach the compile step at slightly different times; a few waves make an overlap certain.
    results = []
    for _ in range(3):
        results += await asyncio.gather(*(post_report(http, url) for _ in range(8)))
        if any(r[0] == 503 for r in results):
            break
    statuses = sorted(r[0] for r in results)
    assert 200 in statuses
    shed = [r for r in results if r[0] == 503]
    assert shed, statuses
    for _, problem, headers in shed:
        assert problem["code"] == "unavailable"
        assert headers["Retry-After"] == "2"
    assert set(statuses) <= {200, 503}


async def test_aggregate_down_is_503_not_500(http, run_service, aggregate_url):
    # A second aggregate process of our own, stopped once the report service is ready.
    own_aggregate = run_service("services.aggregate", {"REZONE_AGGREGATE_LOG_LEVEL": "WARNING"})
    url = run_service(
        "services.report",
        {
            **NO_QUEUE,
            "REZONE_REPORT_AGGREGATE_URL": own_aggregate,
            "REZONE_REPORT_AGGREGATE_TIMEOUT_S": "3",
        },
    )
    run_service.stop(own_aggregate)
    status, problem, headers = await post_report(http, url)
    assert status == 503
    assert problem["code"] == "unavailable"
    assert headers["Retry-After"] == str(UPSTREAM_RETRY_AFTER_S)  # a restart takes seconds
    async with http.get(f"{url}/readyz") as resp:
        assert resp.status == 503
    async with http.get(f"{url}/healthz") as resp:
        assert resp.status == 200


async def test_aggregate_503_is_relayed_with_its_retry_after(http, run_service):
    """The aggregate service up but its database away answers 503 with when to come back: the report
    service says the same (once it said 503 without Retry-After: seen by tests/reliability)."""
    dead = f"postgresql://rezone_aggregate:x@127.0.0.1:{free_port()}/absent"
    own_aggregate = run_service("services.aggregate", {"DATABASE_URL": dead}, ready=False)
    # Ready once its aggregate answers /healthz (its readiness probe asks it), so started by then.
    url = run_service("services.report", {**NO_QUEUE, "REZONE_REPORT_AGGREGATE_URL": own_aggregate})
    status, problem, headers = await post_report(http, url)
    assert status == 503, problem
    assert problem["code"] == "unavailable" and "HTTP 503" in problem["detail"], problem
    assert headers["Retry-After"] == str(DB_RETRY_AFTER_S)
