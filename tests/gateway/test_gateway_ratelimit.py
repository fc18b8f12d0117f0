"""The API budget shared by gateway replicas through a real Redis, its RateLimit headers, and Redis down.

Each test poses as its own client (X-Forwarded-For, trusted here) so budgets never leak between tests.
"""

from __future__ import annotations

import re

import aiohttp
import pytest

from deploy.local.cluster import free_port
from gateway.ratelimit import key_digest

pytestmark = pytest.mark.asyncio(loop_scope="session")

# 6 requests per window of 6 / 1 = 6 s: wide enough that a test never straddles two windows.
TIGHT = {"rate_per_s": "1", "rate_burst": "6", "trust_forwarded": "true", "ready_upstreams": ""}
SEARCH = "/api/v1/communes?q=rennes"


async def _get(http: aiohttp.ClientSession, url: str, client: str) -> tuple[int, dict[str, str], bytes]:
    async with http.get(url, headers={"X-Forwarded-For": client}) as r:
        return r.status, dict(r.headers), await r.read()


def _remaining(headers: dict[str, str]) -> int:
    match = re.fullmatch(r'"api";r=(\d+);t=(\d+)', headers["RateLimit"])
    assert match, headers["RateLimit"]
    return int(match[1])


async def test_two_replicas_share_one_budget(http, start_gateway, doubles, redis_url):
    a = start_gateway(doubles, redis_url=redis_url, **TIGHT)
    b = start_gateway(doubles, redis_url=redis_url, replica="b", **TIGHT)
    answers = [await _get(http, f"{gw}{SEARCH}", "10.16.3.1") for gw in (a, b) * 5]
    statuses = [s for s, _, _ in answers]
    # one budget of 6 across both replicas; each alone would have let all 5 of its requests through
    assert statuses == [200] * 6 + [429] * 4, statuses
    assert [_remaining(h) for _, h, _ in answers[:6]] == [5, 4, 3, 2, 1, 0]
    assert all(h["RateLimit-Policy"] == '"api";q=6;w=6' for _, h, _ in answers)
    status, headers, body = answers[-1]
    assert headers["Content-Type"].startswith("application/problem+json")
    assert b'"code":"rate_limited"' in body and 1 <= int(headers["Retry-After"]) <= 6
    assert _remaining(headers) == 0
    # another client has its own budget, on either replica
    assert (await _get(http, f"{b}{SEARCH}", "10.16.3.2"))[0] == 200


async def test_headers_on_errors_not_on_tiles(http, start_gateway, doubles, redis_url):
    gw = start_gateway(doubles, redis_url=redis_url, **TIGHT)
    status, headers, body = await _get(http, f"{gw}/api/v1/nowhere", "10.16.3.3")
    assert status == 404 and _remaining(headers) == 5 and "RateLimit-Policy" in headers
    status, headers, _ = await _get(http, f"{gw}/tiles/communes/7/63/44.mvt", "10.16.3.3")
    assert status == 200 and "RateLimit" not in headers


async def test_redis_down_falls_back_to_each_replica(http, start_gateway, doubles, internal):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    gw = start_gateway(doubles, redis_url=dead, replica="ratelimit-dead", **TIGHT)
    statuses = [(await _get(http, f"{gw}{SEARCH}", "10.16.3.4"))[0] for _ in range(9)]
    # the replica's own token bucket (burst 6) still bounds the client: limited, not open, not broken
    assert statuses[:6] == [200] * 6 and 429 in statuses[6:], statuses
    async with http.get(f"{internal(gw)}/metrics") as r:
        metrics = await r.text()
    errors = re.search(r"^gateway_redis_errors_total (\S+)$", metrics, re.M)
    assert errors and float(errors[1]) >= 1


async def test_api_key_has_its_own_quota(http, start_gateway, doubles, redis_url):
    keys = f"region-bretagne:{key_digest('s3cret-bzh')}:12"
    gw = start_gateway(doubles, redis_url=redis_url, api_keys=keys, **TIGHT)
    url = f"{gw}{SEARCH}"
    with_key = {"X-Forwarded-For": "10.16.3.5", "X-API-Key": "s3cret-bzh"}
    statuses = []
    for _ in range(13):
        async with http.get(url, headers=with_key) as r:
            statuses.append(r.status)
            policy = r.headers["RateLimit-Policy"]
    assert statuses == [200] * 12 + [429] and policy == '"api";q=12;w=6'
    # the key's budget is not the address's: the same address without a key still has its own 6
    status, headers, _ = await _get(http, url, "10.16.3.5")
    assert status == 200 and headers["RateLimit-Policy"] == '"api";q=6;w=6'
    async with http.get(url, headers={"X-Forwarded-For": "10.16.3.6", "X-API-Key": "wrong"}) as r:
        assert r.status == 401 and (await r.json(content_type=None))["code"] == "unknown_api_key"
