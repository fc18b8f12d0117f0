"""The building blocks with a driven clock: LRU bounded in bytes with TTL, token buckets, circuit breaker."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from aiohttp import hdrs

from gateway.app import OPENAPI, create_app
from gateway.cache import SelectionCache, entry_lru, make_entry
from gateway.resilience import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, TokenBuckets
from gateway.settings import Settings
from services.common.validation import CODE_FORM


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lru_bounded_in_bytes_and_recency():
    lru = entry_lru(max_bytes=3 * (1000 + 256 + 1), ttl_s=60)
    for key in "abc":
        lru.put(key, make_entry(b"x" * 1000, "application/json"))
    assert len(lru) == 3
    assert lru.get("a") is not None  # a becomes the most recent
    lru.put("d", make_entry(b"y" * 1000, "application/json"))
    assert lru.get("b") is None and lru.get("a") is not None and lru.get("d") is not None
    assert lru.bytes <= lru.max_bytes
    lru.put("huge", make_entry(b"z" * 10_000, "application/json"))  # larger than the cache: not stored
    assert lru.get("huge") is None and len(lru) == 3


def test_lru_ttl_keeps_stale_copy():
    clock = Clock()
    lru = entry_lru(max_bytes=1 << 20, ttl_s=10, clock=clock)
    lru.put("k", make_entry(b"{}", "application/json"))
    assert lru.get("k")[1] is True
    clock.now += 11
    entry, fresh = lru.get("k")
    assert fresh is False and entry.body == b"{}"


def test_etag_depends_on_bytes_only():
    assert make_entry(b"a", "x").etag == make_entry(b"a", "y").etag != make_entry(b"b", "x").etag


def test_token_bucket_burst_then_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=4, clock=clock)
    assert [buckets.take("ip") for _ in range(4)] == [0.0] * 4
    wait = buckets.take("ip")
    assert wait == pytest.approx(0.5)
    assert buckets.take("other") == 0.0
    clock.now += 0.5
    assert buckets.take("ip") == 0.0
    clock.now += 100
    assert [buckets.take("ip") for _ in range(4)] == [0.0] * 4 and buckets.take("ip") > 0


def test_breaker_cycle():
    clock = Clock()
    states = []
    breaker = CircuitBreaker(failures=3, reset_s=15, clock=clock, on_change=states.append)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == CLOSED
    breaker.failure()
    assert breaker.state == OPEN and not breaker.allow() and breaker.retry_after() == 15
    clock.now += 15
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == OPEN
    clock.now += 15
    assert breaker.allow()
    breaker.success()
    assert breaker.state == CLOSED and states == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


@pytest.mark.parametrize(
    "code,ok",
    [
        ("01001", True),
        ("2A004", True),
        ("2B033", True),
        ("75056", True),
        ("97101", True),
        ("97611", True),
        ("20004", False),
        ("96001", False),
        ("97701", False),
        ("2C001", False),
        ("98735", False),
        ("0100", False),
    ],
)
def test_insee_syntax(code, ok):
    assert bool(CODE_FORM.fullmatch(code)) is ok


async def test_coalescing_survives_the_leader_cancelling():
    calls = 0
    release = asyncio.Event()

    async def fetch():
        nonlocal calls
        calls += 1
        await release.wait()
        return make_entry(b"{}", "application/json")

    cache = SelectionCache(entry_lru(1 << 20, 60), None, lambda endpoint, how: None)
    leader = asyncio.create_task(cache.get_or_fetch("e", "k", fetch))
    await asyncio.sleep(0)
    followers = [asyncio.create_task(cache.get_or_fetch("e", "k", fetch)) for _ in range(5)]
    await asyncio.sleep(0)
    leader.cancel()
    release.set()
    results = await asyncio.gather(*followers)
    assert calls == 1 and {how for _, how in results} == {"COALESCED"}
    assert (await cache.get_or_fetch("e", "k", fetch))[1] == "HIT"


def test_openapi_documents_exactly_the_routes_and_methods():
    """Every /api/v1 route (the docs aside) has its path and methods in the document, and no more."""
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    served: dict[str, set[str]] = {}
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/v1/") and not path.startswith(("/api/v1/docs", "/api/v1/openapi")):
            if route.method not in (hdrs.METH_HEAD, hdrs.METH_OPTIONS):
                served.setdefault(path, set()).add(route.method.lower())
    spec = msgspec.json.decode(app[OPENAPI])
    documented = {path: set(ops) for path, ops in spec["paths"].items()}
    assert documented == served
    # Limits in the text come from the settings, not from a copy.
    limited = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none", max_communes=42))
    assert "au plus 42 communes" in msgspec.json.decode(limited[OPENAPI])["info"]["description"]
