"""API rate limit shared by every gateway replica (Redis, PyPI `limits`), with the IETF RateLimit headers.

The shared budget is the local token bucket's: `rate_burst` requests per window of `rate_burst / rate_per_s`
seconds (the time a drained bucket takes to fill), counted per client in Redis with a fixed window, so two
replicas behind one balancer give a client one budget, not two.

Redis down or slow: the replica falls back to its own token bucket (counted in gateway_redis_errors_total)
rather than failing open — a flood during a Redis outage is still bounded, at most by replicas × budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .errors import RateLimited, UnknownApiKey
from .resilience import CircuitBreaker, TokenBuckets, client_of

if TYPE_CHECKING:
    from limits import RateLimitItem, WindowStats
    from limits.aio.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

POLICY = "api"
KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class ApiKey:
    """A regional tool's key: its name (the budget's identity) and its own quota per window."""

    name: str
    quota: int


def parse_api_keys(spec: str) -> dict[str, ApiKey]:
    """`name:sha256-hex:quota,…` (REZONE_GATEWAY_API_KEYS): the operator configures hashes, never keys."""
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, digest, quota = item.split(":")
        keys[digest.lower()] = ApiKey(name, int(quota))
    return keys


def key_digest(key: str) -> str:
    """What the operator configures for a key: its SHA-256, hex (`printf %s KEY | sha256sum`)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    """One request's verdict and what the headers tell the client."""

    allowed: bool
    limit: int
    window_s: int
    remaining: int
    reset_s: int


class SharedLimiter:
    """Fixed-window counter per client in Redis, the local token bucket when Redis fails."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        local: TokenBuckets,
        on_error: Callable[[], None],
        redis_url: str = "",
        timeout_s: float = 0.25,
        keys: dict[str, ApiKey] | None = None,
    ) -> None:
        from limits import RateLimitItemPerSecond  # optional dependency (extra `gateway`)

        self.limit = burst
        self.window_s = max(1, round(burst / rate_per_s))
        self.item = RateLimitItemPerSecond(self.limit, self.window_s)
        self.local, self.on_error = local, on_error
        self.keys = keys or {}
        # A key's quota spread over the same window, locally as in Redis.
        self.key_items = {k.name: RateLimitItemPerSecond(k.quota, self.window_s) for k in self.keys.values()}
        self.key_buckets = {
            k.name: TokenBuckets(k.quota / self.window_s, k.quota) for k in self.keys.values()
        }
        self.redis_url, self.timeout_s = redis_url, timeout_s
        # Redis down: stop trying for a while instead of paying its timeout on every request.
        self.breaker = CircuitBreaker(3, 10.0)
        self.strategy: FixedWindowRateLimiter | None = None

    async def start(self) -> None:
        """Connect the shared storage (no Redis URL: every replica keeps its own bucket)."""
        if not self.redis_url:
            return
        from limits.aio.strategies import FixedWindowRateLimiter
        from limits.storage import storage_from_string  # optional dependency (extra `gateway`)

        storage = storage_from_string(
            "async+" + self.redis_url,
            implementation="redispy",
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
        )
        self.strategy = FixedWindowRateLimiter(storage)

    @staticmethod
    async def _shared(
        strategy: FixedWindowRateLimiter, item: RateLimitItem, client: str
    ) -> tuple[bool, WindowStats]:
        allowed = await strategy.hit(item, POLICY, client)
        return allowed, await strategy.get_window_stats(item, POLICY, client)

    async def decide(self, client: str, key: ApiKey | None = None) -> Decision:
        """Count this request against its budget (the key's, else the client address's): shared when Redis
        answers, local otherwise."""
        item, local, limit = self.item, self.local, self.limit
        if key is not None:
            client = "key:" + key.name
            item, local, limit = self.key_items[key.name], self.key_buckets[key.name], key.quota
        strategy = self.strategy
        if strategy is not None and self.breaker.allow():
            try:
                allowed, stats = await asyncio.wait_for(self._shared(strategy, item, client), self.timeout_s)
            except Exception as exc:  # any Redis trouble: this replica's own bucket decides
                self.breaker.failure()
                self.on_error()
                log.warning("redis unavailable, rate limit per replica", extra={"error": repr(exc)})
            else:
                self.breaker.success()
                reset = max(0, math.ceil(stats.reset_time - time.time()))
                return Decision(allowed, limit, self.window_s, stats.remaining, reset)
        wait = local.take(client)
        left, full_in = local.left(client)
        reset = math.ceil(wait if wait > 0 else full_in)
        return Decision(wait <= 0, limit, self.window_s, left, reset)

    def key_of(self, request: web.Request) -> ApiKey | None:
        """The request's API key (optional: none for the public map); a key sent but unknown is refused."""
        sent = request.headers.get(KEY_HEADER)
        if sent is None:
            return None
        key = self.keys.get(key_digest(sent))
        if key is None:
            raise UnknownApiKey(f"clé {KEY_HEADER} inconnue ; l'API publique n'en demande aucune")
        return key


def headers(d: Decision) -> dict[str, str]:
    """RateLimit-Policy and RateLimit as in draft-ietf-httpapi-ratelimit-headers (structured fields)."""
    return {
        "RateLimit-Policy": f'"{POLICY}";q={d.limit};w={d.window_s}',
        "RateLimit": f'"{POLICY}";r={d.remaining};t={d.reset_s}',
    }


DECISION = web.RequestKey("rate_decision", Decision)


def shared_rate_limit_middleware(
    limiter: SharedLimiter, trust_forwarded: bool, on_limited: Callable[[], None]
) -> Middleware:
    """429 problem+json + Retry-After past the shared budget (tiles, styles and the page are exempt)."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/") or request.method == "OPTIONS":
            return await handler(request)
        d = await limiter.decide(client_of(request, trust_forwarded), limiter.key_of(request))
        request[DECISION] = d
        if not d.allowed:
            on_limited()
            raise RateLimited(
                "trop de requêtes pour ce client, réessayez plus tard", retry_after=max(1, d.reset_s)
            )
        return await handler(request)

    return limit


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the RateLimit headers on every API answer, errors and 429 included."""
    d = request.get(DECISION)
    if d is not None:
        response.headers.update(headers(d))


def limiter_ctx(limiter: SharedLimiter) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx: connect the shared storage at start (nothing to close: limits owns its pool)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await limiter.start()
        yield

    return ctx
