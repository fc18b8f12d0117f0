"""Cache of common selections: an in-process LRU bounded in bytes with a TTL, an optional shared Redis tier,
and request coalescing so that identical concurrent misses cost one upstream call.

The LRU keeps an entry past its TTL until evicted: if the upstream then fails, the stale copy is served
(flagged `X-Cache: STALE`) instead of an error, since a diagnosis for the same data version is still right.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import msgspec
from aiohttp import web

from services.common.cache import ByteLRU
from services.common.concurrency import SingleFlight
from services.common.errors import ServiceError
from services.common.http import strong_etag

from .resilience import CircuitBreaker

if TYPE_CHECKING:
    from redis.asyncio import Redis  # optional dependency (extra `gateway`), imported only when configured

log = logging.getLogger("rezone.gateway.cache")

_OVERHEAD = 256  # per-entry bookkeeping (key, tuple, OrderedDict node), so tiny entries still count


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """One cached upstream answer; also the Redis value format.

    `gzipped` is the same body compressed once at fill time (empty when not worth it): a cached diagnosis is
    tens of KiB of JSON, and sending a tenth of that costs less than compressing it again per request.
    """

    body: bytes
    content_type: str
    etag: str
    created: float
    disposition: str = ""
    gzipped: bytes = b""

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.body) + len(self.gzipped)


_COMPRESSIBLE = ("application/json", "text/", "application/problem+json")


def make_entry(body: bytes, content_type: str, disposition: str = "") -> Entry:
    """Entry with a strong ETag derived from the body bytes, and its gzip variant for text bodies."""
    etag = strong_etag(body)
    gzipped = b""
    if len(body) >= 1024 and content_type.startswith(_COMPRESSIBLE):
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        gzipped = packed if len(packed) < 0.9 * len(body) else b""
    return Entry(body, content_type, etag, time.time(), disposition, gzipped)


def entry_lru(
    max_bytes: int,
    ttl_s: float,
    *,
    max_entry_bytes: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ByteLRU[str, Entry]:
    """The shared LRU holding upstream answers, weighed with their key and bookkeeping."""
    return ByteLRU(
        max_bytes,
        lambda key, entry: entry.size + len(key) + _OVERHEAD,
        ttl_s=ttl_s,
        max_entry_bytes=max_entry_bytes,
        clock=clock,
    )


class RedisTier:
    """Shared entries between replicas; every call has a timeout and a failure only degrades to local."""

    _ENC = msgspec.msgpack.Encoder()
    _DEC = msgspec.msgpack.Decoder(Entry)

    def __init__(
        self,
        client: Redis,
        timeout_s: float,
        ttl_s: float,
        breaker: CircuitBreaker,
        on_error: Callable[[], None],
    ) -> None:
        self.client, self.timeout_s, self.ttl_s = client, timeout_s, ttl_s
        self.breaker, self.on_error = breaker, on_error

    @staticmethod
    def _key(key: str) -> str:
        return "rezone:gw:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()

    async def get(self, key: str) -> Entry | None:
        """The shared entry, or None (also when Redis is down or slow)."""
        if not self.breaker.allow():
            return None
        try:
            raw = await asyncio.wait_for(self.client.get(self._key(key)), self.timeout_s)
        except Exception as exc:  # any Redis trouble: serve from upstream instead
            self._failed("get", exc)
            return None
        self.breaker.success()
        # The client is made without decode_responses: values come back as bytes.
        return self._DEC.decode(cast(bytes, raw)) if raw is not None else None

    async def put(self, key: str, entry: Entry) -> None:
        """Share an entry; best effort."""
        if not self.breaker.allow():
            return
        try:
            await asyncio.wait_for(
                self.client.set(self._key(key), self._ENC.encode(entry), ex=max(1, int(self.ttl_s))),
                self.timeout_s,
            )
            self.breaker.success()
        except Exception as exc:  # as above: the local tier still has it
            self._failed("set", exc)

    def _failed(self, op: str, exc: Exception) -> None:
        self.breaker.failure()
        self.on_error()
        log.warning("redis unavailable, using the local cache only", extra={"op": op, "error": repr(exc)})


Fetch = Callable[[], Awaitable[Entry]]


class SelectionCache:
    """get_or_fetch: local LRU, then in-flight twin, then Redis, then the upstream (once per key)."""

    def __init__(
        self, local: ByteLRU[str, Entry], shared: RedisTier | None, count: Callable[[str, str], None]
    ) -> None:
        self.local, self.shared, self.count = local, shared, count
        self.hits = self.lookups = 0
        self._flight: SingleFlight[str, tuple[Entry, str]] = SingleFlight()

    def hit_ratio(self) -> float:
        """Share of lookups answered without an upstream call since start."""
        return self.hits / self.lookups if self.lookups else 0.0

    async def get_or_fetch(self, endpoint: str, key: str, fetch: Fetch) -> tuple[Entry, str]:
        """(entry, how) where how is HIT, SHARED, COALESCED, MISS or STALE."""
        self.lookups += 1
        found = self.local.get(key)
        if found is not None and found[1]:
            return self._counted(endpoint, found[0], "HIT")
        stale = found[0] if found is not None else None
        # A client that goes away cancels its own wait, never the shared fetch the others await.
        (entry, how), joined = await self._flight.run(key, lambda: self._fill(key, fetch, stale))
        return self._counted(endpoint, entry, "COALESCED" if joined else how)

    def _counted(self, endpoint: str, entry: Entry, how: str) -> tuple[Entry, str]:
        if how != "MISS":
            self.hits += 1
        self.count(endpoint, how.lower())
        return entry, how

    async def _fill(self, key: str, fetch: Fetch, stale: Entry | None) -> tuple[Entry, str]:
        if self.shared is not None:
            entry = await self.shared.get(key)
            if entry is not None:
                self.local.put(key, entry)
                return entry, "SHARED"
        try:
            entry = await fetch()
        except ServiceError as exc:
            if stale is not None and exc.status >= 500:
                log.warning("upstream failed, serving a stale entry", extra={"error": exc.detail})
                return stale, "STALE"
            raise
        self.local.put(key, entry)
        if self.shared is not None:
            await self.shared.put(key, entry)
        return entry, "MISS"


CACHE = web.AppKey("cache", SelectionCache)
SEARCH_CACHE = web.AppKey("search_cache", ByteLRU[str, Entry])
