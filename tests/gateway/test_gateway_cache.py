"""Selection cache: hit after a first call, coalescing of identical misses, ETag/304, Redis shared or down."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import msgspec
import pytest

from deploy.local.cluster import free_port
from tests.gateway.doubles import Doubles

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _get(http, url, headers=None) -> tuple[int, dict, bytes]:
    async with http.get(url, headers=headers or {}) as r:
        return r.status, r.headers.copy(), await r.read()


async def test_hit_after_first_call(http, gateway, doubles, selectable):
    sel = ",".join(selectable[5000:5003])
    before = doubles.aggregate.calls["diagnosis"]
    status, h1, b1 = await _get(http, f"{gateway}/api/v1/territory?communes={sel}")
    assert status == 200 and h1["X-Cache"] == "MISS"
    status, h2, b2 = await _get(
        http, f"{gateway}/api/v1/territory?communes={sel.lower()}"
    )  # same canonical key
    assert status == 200 and h2["X-Cache"] == "HIT" and b2 == b1
    assert doubles.aggregate.calls["diagnosis"] == before + 1
    # GET and POST of the same selection share the entry
    async with http.post(f"{gateway}/api/v1/territory", json={"communes": sel.split(",")[::-1]}) as r:
        assert r.headers["X-Cache"] == "HIT" and await r.read() == b1
    # the summary is another endpoint: its own entry
    status, h3, _ = await _get(http, f"{gateway}/api/v1/territory/summary?communes={sel}")
    assert h3["X-Cache"] == "MISS"


async def test_etag_and_304(http, gateway, selectable):
    url = f"{gateway}/api/v1/territory/summary?communes={selectable[5100]}"
    status, headers, body = await _get(http, url)
    assert status == 200
    etag = headers["ETag"]
    assert (
        etag.startswith('"')
        and "max-age=" in headers["Cache-Control"]
        and "public" in headers["Cache-Control"]
    )
    status, headers, body = await _get(http, url, {"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    status, _, _ = await _get(http, url, {"If-None-Match": '"other"'})
    assert status == 200
    # search answers carry validators too
    status, headers, _ = await _get(http, f"{gateway}/api/v1/communes?q=lyon")
    status, _, _ = await _get(http, f"{gateway}/api/v1/communes?q=lyon", {"If-None-Match": headers["ETag"]})
    assert status == 304


async def test_fifty_identical_misses_make_one_upstream_call(http, gateway, doubles, selectable):
    sel = ",".join(selectable[5200:5210])
    url = f"{gateway}/api/v1/territory?communes={sel}"
    before = doubles.aggregate.calls["diagnosis"]
    doubles.aggregate.delay = 0.6
    try:
        # The first client (the one whose request starts the fetch) goes away mid-flight.
        leader = asyncio.create_task(_get(http, url))
        await asyncio.sleep(0.15)
        others = [asyncio.create_task(_get(http, url)) for _ in range(49)]
        await asyncio.sleep(0.1)
        leader.cancel()
        results = await asyncio.gather(*others)
    finally:
        doubles.aggregate.delay = 0.0
    assert doubles.aggregate.calls["diagnosis"] == before + 1
    assert all(status == 200 for status, _, _ in results)
    # All but (on a very slow machine) the first to arrive shared the fetch the cancelled leader started.
    how = [h["X-Cache"] for _, h, _ in results]
    assert (
        how.count("COALESCED") >= 45 and how.count("MISS") <= 1 and set(how) <= {"COALESCED", "MISS", "HIT"}
    )
    assert len({body for _, _, body in results}) == 1
    status, headers, _ = await _get(http, url)
    assert headers["X-Cache"] == "HIT"


async def test_upstream_error_not_cached(http, gateway, doubles, selectable):
    url = f"{gateway}/api/v1/export.csv?communes={selectable[5300]}"
    doubles.report.status = 422
    try:
        status, _, body = await _get(http, url)
    finally:
        doubles.report.status = None
    assert status == 422 and msgspec.json.decode(body)["code"] == "forced"  # the upstream's problem, relayed
    status, headers, body = await _get(http, url)
    assert status == 200 and headers["X-Cache"] == "MISS" and body.startswith(b"code\n")


async def test_replicas_share_entries_through_redis(http, start_gateway, doubles, redis_url, selectable):
    a = start_gateway(doubles, redis_url=redis_url)
    b = start_gateway(doubles, redis_url=redis_url, replica="b")
    sel = ",".join(selectable[5400:5402])
    before = doubles.aggregate.calls["diagnosis"]
    status, ha, body_a = await _get(http, f"{a}/api/v1/territory?communes={sel}")
    assert status == 200 and ha["X-Cache"] == "MISS"
    status, hb, body_b = await _get(http, f"{b}/api/v1/territory?communes={sel}")
    assert status == 200 and hb["X-Cache"] == "SHARED" and body_b == body_a and hb["ETag"] == ha["ETag"]
    assert doubles.aggregate.calls["diagnosis"] == before + 1
    status, hb, _ = await _get(http, f"{b}/api/v1/territory?communes={sel}")
    assert hb["X-Cache"] == "HIT"


async def test_redis_down_degrades_to_local_cache(http, start_gateway, doubles, selectable, internal):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    gw = start_gateway(doubles, redis_url=dead)
    sel = selectable[5500]
    status, h1, _ = await _get(http, f"{gw}/api/v1/territory/summary?communes={sel}")
    status2, h2, _ = await _get(http, f"{gw}/api/v1/territory/summary?communes={sel}")
    assert (status, status2) == (200, 200) and (h1["X-Cache"], h2["X-Cache"]) == ("MISS", "HIT")
    _, _, metrics = await _get(http, f"{internal(gw)}/metrics")
    errors = [line for line in metrics.decode().splitlines() if line.startswith("gateway_redis_errors_total")]
    assert errors and float(errors[0].split()[-1]) >= 1


async def test_hit_ratio_in_metrics(http, gateway, internal):
    async with aiohttp.ClientSession() as s, s.get(f"{internal(gateway)}/metrics") as r:
        text = await r.text()
    ratio = [line for line in text.splitlines() if line.startswith("gateway_cache_hit_ratio ")]
    assert ratio and 0.0 < float(ratio[0].split()[-1]) < 1.0
    assert 'gateway_cache_requests_total{endpoint="diagnosis",result="coalesced"}' in text


async def test_prewarmed_with_the_cpts_perimeters(http, start_gateway, database_url):
    perimeters = await _perimeters(database_url)
    assert perimeters, "the demo dataset has CPTS perimeters"
    warm = Doubles()
    try:
        gw = start_gateway(warm, prewarm="true", prewarm_concurrency="4", replica="prewarm")
        expected = [p for p in perimeters if len(p) <= 100]  # larger ones cannot be asked for: skipped
        deadline = asyncio.get_running_loop().time() + 60
        while warm.aggregate.calls["summary"] < len(expected):
            assert asyncio.get_running_loop().time() < deadline, dict(warm.aggregate.calls)
            await asyncio.sleep(0.2)
        assert warm.aggregate.calls["diagnosis"] == warm.aggregate.calls["summary"] == len(expected)
        # a CPTS perimeter asked for after start is already there, both forms of it
        codes = ",".join(expected[0])
        for path in (f"/api/v1/territory?communes={codes}", f"/api/v1/territory/summary?communes={codes}"):
            status, headers, _ = await _get(http, gw + path)
            assert status == 200 and headers["X-Cache"] == "HIT"
        assert warm.aggregate.calls["diagnosis"] == len(expected)
    finally:
        warm.close()


async def _perimeters(dsn: str) -> list[list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT array_agg(commune_code) AS c FROM ref.cpts_communes GROUP BY cpts_id")
    finally:
        await conn.close()
    return [list(r["c"]) for r in rows]
