"""Resilience: an upstream stopped, timeouts, the circuit breaker, shedding, rate limit, graceful shutdown.

These run against their own upstream doubles and gateways with tight settings, so that breaking things here
never disturbs the functional tests. Each test poses as its own client (X-Forwarded-For, trusted here) so the
rate limit of one does not leak into another.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import msgspec
import pytest

from tests.gateway.doubles import Doubles

pytestmark = pytest.mark.asyncio(loop_scope="session")

FRAGILE = {
    "diagnosis_timeout_s": "0.5",
    "report_timeout_s": "0.5",
    "tiles_timeout_s": "0.5",
    "breaker_failures": "3",
    "breaker_reset_s": "1.5",
    "max_inflight": "4",
    "rate_per_s": "2",
    "rate_burst": "5",
    "trust_forwarded": "true",
    "ready_upstreams": "",
    "retry_ratio": "0",  # one upstream call per request, so that the tests below can count them
}


@pytest.fixture(scope="module")
def broken() -> Doubles:
    d = Doubles()
    yield d
    d.close()


@pytest.fixture(scope="module")
def fragile(start_gateway, broken) -> str:
    return start_gateway(broken, **FRAGILE)


@pytest.fixture
def replica(start_gateway) -> Iterator[Callable[[], tuple[str, Doubles]]]:
    """A gateway of its own with upstream doubles of its own: breaker state left by no other test."""
    made: list[Doubles] = []

    def make() -> tuple[str, Doubles]:
        doubles = Doubles()
        made.append(doubles)
        return start_gateway(doubles, **FRAGILE), doubles

    yield make
    for doubles in made:
        doubles.close()


async def _until_ok(http, url: str, deadline_s: float) -> float:
    """Seconds until `url` answers 200, polling as a new client each time (the rate limit is per client)."""
    started = time.monotonic()
    for attempt in range(1000):
        status, _, _ = await _call(http, "GET", url, f"10.9.{attempt // 250}.{attempt % 250}")
        if status == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < deadline_s, f"still {status} after {deadline_s} s"
        await asyncio.sleep(0.05)
    raise AssertionError("no answer")


async def _call(http, method, url, client, **kw) -> tuple[int, dict, dict | bytes]:
    async with http.request(
        method,
        url,
        headers={"X-Forwarded-For": client, "Accept-Encoding": "identity", **kw.pop("headers", {})},
        **kw,
    ) as r:
        raw = await r.read()
        body = msgspec.json.decode(raw) if r.content_type.endswith("json") and raw else raw
        return r.status, r.headers.copy(), body


async def test_stopped_upstream_fails_its_routes_only(http, replica, selectable):
    fragile, broken = replica()
    broken.report.stop()
    try:
        status, headers, body = await _call(
            http, "GET", f"{fragile}/api/v1/export.csv?communes={selectable[6000]}", "10.0.0.1"
        )
        # Nobody listening (restarting, crashed) is retryable: 503 with a Retry-After, not a bare 502.
        assert status == 503 and body["code"] == "upstream_unavailable" and body["upstream"] == "report"
        assert int(headers["Retry-After"]) >= 1
        # the rest keeps working
        status, _, _ = await _call(
            http, "GET", f"{fragile}/api/v1/territory?communes={selectable[6000]}", "10.0.0.1"
        )
        assert status == 200
        status, _, _ = await _call(http, "GET", f"{fragile}/tiles/communes/5/16/11.mvt", "10.0.0.1")
        assert status == 200
        status, _, _ = await _call(http, "GET", f"{fragile}/api/v1/communes?q=brest", "10.0.0.1")
        assert status == 200
    finally:
        broken.report.start()


async def test_timeout_is_504(http, fragile, broken, selectable):
    broken.aggregate.delay = 1.5
    try:
        started = time.monotonic()
        status, _, body = await _call(
            http, "GET", f"{fragile}/api/v1/territory/summary?communes={selectable[6100]}", "10.0.0.2"
        )
        elapsed = time.monotonic() - started
    finally:
        broken.aggregate.delay = 0.0
    assert status == 504 and body["code"] == "upstream_timeout"
    assert elapsed < 1.4  # the 0.5 s timeout, not the 1.5 s the upstream would take


async def test_breaker_opens_then_recovers(http, replica, selectable, internal):
    fragile, broken = replica()
    broken.aggregate.status = 500
    before = broken.aggregate.calls["summary"]
    try:
        statuses = []
        for i in range(3):
            status, _, _ = await _call(
                http, "GET", f"{fragile}/api/v1/territory/summary?communes={selectable[6200 + i]}", "10.0.0.3"
            )
            statuses.append(status)
        assert statuses == [502, 502, 502]
        started = time.monotonic()
        status, headers, body = await _call(
            http, "GET", f"{fragile}/api/v1/territory/summary?communes={selectable[6210]}", "10.0.0.3"
        )
        assert time.monotonic() - started < 0.5  # fails fast (no upstream call, no timeout waited)
        assert status == 503 and body["code"] == "upstream_unavailable" and int(headers["Retry-After"]) >= 1
        assert broken.aggregate.calls["summary"] == before + 3
        _, _, metrics = await _call(http, "GET", f"{internal(fragile)}/metrics", "10.0.0.3")
        assert 'gateway_breaker_state{upstream="aggregate"} 2.0' in metrics.decode()
    finally:
        broken.aggregate.status = None
    # Open for breaker_reset_s (1.5 s), then one probe closes it: wait on that, not on a fixed sleep.
    waited = await _until_ok(http, f"{fragile}/api/v1/territory/summary?communes={selectable[6211]}", 10.0)
    assert waited > 0.5  # not before the reset period (it had just opened)
    _, _, metrics = await _call(http, "GET", f"{internal(fragile)}/metrics", "10.0.0.3")
    assert 'gateway_breaker_state{upstream="aggregate"} 0.0' in metrics.decode()


async def test_upstream_shedding_is_relayed_without_opening_the_breaker(http, fragile, broken, selectable):
    broken.report.status, broken.report.retry_after = 503, "7"
    before = broken.report.calls["export.csv"]
    try:
        for i in range(5):  # more than the breaker's threshold of 3
            status, headers, body = await _call(
                http, "GET", f"{fragile}/api/v1/export.csv?communes={selectable[6250 + i]}", "10.0.0.8"
            )
            assert (
                status == 503 and body["code"] == "upstream_unavailable" and headers["Retry-After"] == "7"
            ), body
    finally:
        broken.report.status, broken.report.retry_after = None, None
    assert broken.report.calls["export.csv"] == before + 5  # every call reached the upstream: breaker closed
    status, _, _ = await _call(
        http, "GET", f"{fragile}/api/v1/export.csv?communes={selectable[6260]}", "10.0.0.9"
    )
    assert status == 200


async def test_shed_idempotent_call_is_sent_again_within_the_retry_budget(http, start_gateway, selectable):
    """A replica at its cap sheds a summary (503): the gateway sends it once more and the client gets the
    answer. The PDF, whose shedding is the render queue's cap, is never sent twice. An upstream that sheds
    everything gets one call per request plus at most the budget (10 to start, then 10 % of calls)."""
    doubles = Doubles()
    try:
        await _retries_within_budget(
            http, start_gateway(doubles, **{**FRAGILE, "retry_ratio": "0.1"}), doubles, selectable
        )
    finally:
        doubles.close()


async def _retries_within_budget(http, gw: str, doubles: Doubles, selectable: list[str]) -> None:
    doubles.aggregate.shed_next = 1
    status, _, body = await _call(
        http, "GET", f"{gw}/api/v1/territory/summary?communes={selectable[8000]}", "10.0.5.1"
    )
    assert status == 200, body
    assert doubles.aggregate.calls["summary"] == 2
    doubles.report.shed_next = 1
    status, headers, body = await _call(
        http, "GET", f"{gw}/api/v1/report.pdf?communes={selectable[8001]}", "10.0.5.2"
    )
    assert status == 503 and body["code"] == "upstream_unavailable" and headers["Retry-After"] == "1"
    assert doubles.report.calls["report.pdf"] == 1
    doubles.aggregate.status, doubles.aggregate.retry_after = 503, "1"
    try:
        for i in range(40):
            status, _, _ = await _call(
                http,
                "GET",
                f"{gw}/api/v1/territory/summary?communes={selectable[8010 + i]}",
                f"10.0.5.{10 + i}",
            )
            assert status == 503
    finally:
        doubles.aggregate.status = doubles.aggregate.retry_after = None
    retries = doubles.aggregate.calls["summary"] - 2 - 40
    # Tokens: 10 at start, 9 after the first retry, +0.1 per call (42 calls) → 12 retries at most.
    assert 9 <= retries <= 13, retries


async def test_upstream_503_without_retry_after_is_503_and_keeps_the_breaker_closed(
    http, fragile, broken, selectable
):
    """An upstream whose database is down answers 503: the client gets 503 + Retry-After (never 502), and
    the upstream is still called every time (breaker closed)."""
    broken.aggregate.status = 503
    before = broken.aggregate.calls["summary"]
    try:
        for i in range(5):
            status, headers, body = await _call(
                http,
                "GET",
                f"{fragile}/api/v1/territory/summary?communes={selectable[6270 + i]}",
                f"10.0.1.{i}",  # a client each: the fragile gateway's rate limit is 5 in a burst
            )
            assert status == 503 and body["code"] == "upstream_unavailable", body
            assert int(headers["Retry-After"]) >= 1
    finally:
        broken.aggregate.status = None
    assert broken.aggregate.calls["summary"] == before + 5
    assert (
        await _call(
            http, "GET", f"{fragile}/api/v1/territory/summary?communes={selectable[6280]}", "10.0.1.99"
        )
    )[0] == 200


async def test_stale_entry_served_when_upstream_fails(http, start_gateway, broken, selectable):
    gw = start_gateway(broken, **{**FRAGILE, "cache_ttl_s": "0.3"})
    url = f"{gw}/api/v1/territory?communes={selectable[6300]}"
    status, h1, b1 = await _call(http, "GET", url, "10.0.0.4")
    assert status == 200 and h1["X-Cache"] == "MISS"
    await asyncio.sleep(0.4)
    broken.aggregate.status = 500
    try:
        status, h2, b2 = await _call(http, "GET", url, "10.0.0.4")
    finally:
        broken.aggregate.status = None
    assert status == 200 and h2["X-Cache"] == "STALE" and b2 == b1


async def test_shedding_beyond_inflight_cap(http, fragile, broken):
    broken.tiles.delay = 0.4  # under the 0.5 s tiles timeout
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(_call(http, "GET", f"{fragile}/tiles/communes/6/{i}/20.mvt", "10.0.0.5") for i in range(10))
        )
    finally:
        broken.tiles.delay = 0.0
    statuses = sorted(s for s, _, _ in results)
    # 4 in flight at most: the others are refused at once (exactly 6 unless the machine stalls for 0.4 s)
    assert statuses.count(200) >= 4 and statuses.count(503) >= 4 and len(statuses) == 10
    shed = [(h, b) for s, h, b in results if s == 503]
    assert all(h["Retry-After"] == "1" and b["code"] == "overloaded" for h, b in shed)
    assert time.monotonic() - started < 2.0
    status, _, _ = await _call(http, "GET", f"{fragile}/healthz", "10.0.0.5")
    assert status == 200


async def test_rate_limit_on_api_not_on_tiles(http, fragile):
    statuses = [
        (await _call(http, "GET", f"{fragile}/api/v1/communes?q=rennes", "10.0.0.6"))[0] for _ in range(8)
    ]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    status, headers, body = await _call(http, "GET", f"{fragile}/api/v1/communes?q=rennes", "10.0.0.6")
    assert status == 429 and body["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
    # another client is not affected, and tiles are never limited
    assert (await _call(http, "GET", f"{fragile}/api/v1/communes?q=rennes", "10.0.0.7"))[0] == 200
    tiles = [
        (await _call(http, "GET", f"{fragile}/tiles/communes/7/{i}/44.mvt", "10.0.0.6"))[0] for i in range(12)
    ]
    assert tiles == [200] * 12


async def test_graceful_shutdown_finishes_inflight(http, start_gateway, run_service, broken, selectable):
    gw = start_gateway(broken, **{**FRAGILE, "diagnosis_timeout_s": "5", "replica": "shutdown"})
    broken.aggregate.delay = 1.0
    try:
        calls = [
            asyncio.create_task(
                _call(http, "GET", f"{gw}/api/v1/territory?communes={selectable[6400 + i]}", f"10.0.1.{i}")
            )
            for i in range(3)
        ]
        await asyncio.sleep(0.3)
        await asyncio.to_thread(run_service.stop, gw)  # SIGTERM, waits for the process to exit
        results = await asyncio.gather(*calls)
    finally:
        broken.aggregate.delay = 0.0
    assert [s for s, _, _ in results] == [200, 200, 200]


async def test_readiness_is_the_core_and_a_dead_report_only_degrades(http, start_gateway, broken, internal):
    """Tiles, search and diagnosis are the core: a dead report service shows in the internal detail and in
    the metrics, not as "not ready" for everything; a dead aggregate service is not ready."""
    gw = start_gateway(
        broken, ready_upstreams="tiles,aggregate", optional_upstreams="report", replica="ready"
    )
    inside = internal(gw)
    broken.report.stop()
    try:
        status, _, body = await _call(http, "GET", f"{gw}/readyz", "10.0.0.20")
        assert status == 200 and body == {"status": "degraded"}  # the public port names nothing inside
        status, _, body = await _call(http, "GET", f"{inside}/readyz", "10.0.0.20")
        assert status == 200 and set(body["degraded"]) == {"upstream_report"}
        _, _, metrics = await _call(http, "GET", f"{inside}/metrics", "10.0.0.20")
        assert (
            'readiness_dependency_up{dependency="upstream_report",required="false",service="gateway"} 0.0'
            in metrics.decode()
        )
    finally:
        broken.report.start()
    broken.aggregate.stop()
    try:
        status, _, body = await _call(http, "GET", f"{gw}/readyz", "10.0.0.20")
        assert status == 503 and "failures" not in body
        status, _, body = await _call(http, "GET", f"{inside}/readyz", "10.0.0.20")
        assert status == 503 and "upstream_aggregate" in body["failures"]
    finally:
        broken.aggregate.start()
    status, _, body = await _call(http, "GET", f"{gw}/readyz", "10.0.0.20")
    assert status == 200 and body == {"status": "ready"}
