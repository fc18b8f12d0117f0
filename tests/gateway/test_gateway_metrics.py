"""Prometheus metrics: the names operators build dashboards on, and the request id in answers and logs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

NAMES = (
    "http_requests_total",
    "http_request_duration_seconds",
    "gateway_cache_requests_total",
    "gateway_cache_hit_ratio",
    "gateway_cache_bytes",
    "gateway_cache_entries",
    "gateway_redis_errors_total",
    "gateway_upstream_errors_total",
    "gateway_upstream_duration_seconds",
    "gateway_breaker_state",
    "gateway_inflight_requests",
    "gateway_shed_total",
    "gateway_rate_limited_total",
    "gateway_data_version_info",
)


async def test_metric_names(http, gateway, internal):
    async with http.get(f"{gateway}/api/v1/communes?q=brest") as r:
        assert r.status == 200
    async with http.get(f"{gateway}/metrics") as r:
        assert r.status == 404  # never on the public port
    async with http.get(f"{internal(gateway)}/metrics") as r:
        text = (await r.read()).decode()
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert set(NAMES) <= {n.removesuffix("_total") for n in declared} | declared
    assert 'method="GET",route="/api/v1/communes",service="gateway",status="200"' in text
    assert 'gateway_breaker_state{upstream="report"}' in text
    assert "gateway_data_version_info{version=" in text


async def test_request_id_made_up_when_absent(http, gateway):
    async with http.get(f"{gateway}/healthz") as r:
        rid = r.headers["X-Request-ID"]
    assert len(rid) == 32
