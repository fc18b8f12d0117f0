"""Circuit breaker and retry budget per upstream, in-flight cap (shedding), the per-replica token bucket.

Each takes an injectable clock so tests drive time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from services.common.concurrency import InflightCap
from services.common.errors import PayloadTooLarge
from services.common.web import read_body_upto

from .errors import Overloaded

CLOSED, HALF_OPEN, OPEN = 0, 1, 2


class RetryBudget:
    """Retries as a share of calls (the retry budget of Finagle and Envoy), so that retries cannot multiply
    the load of an upstream that sheds because it is overloaded: every call deposits `ratio` of a token, up
    to `burst` tokens; a retry spends one. `ratio` 0 never retries.
    """

    def __init__(self, ratio: float, burst: float = 10.0) -> None:
        self.ratio, self.burst = ratio, burst
        self.tokens = burst if ratio > 0 else 0.0

    def deposit(self) -> None:
        """A first attempt was made."""
        self.tokens = min(self.burst, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        """Whether a retry may be made now (and spend its token)."""
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `reset_s` lets one probe through (half-open)."""

    def __init__(
        self,
        failures: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.threshold, self.reset_s, self.clock = failures, reset_s, clock
        self.on_change = on_change or (lambda state: None)
        self.state, self.failures, self.opened_at = CLOSED, 0, 0.0
        self._probing = False

    def allow(self) -> bool:
        """Whether a call may go to the upstream now."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self.clock() - self.opened_at >= self.reset_s:
            self._set(HALF_OPEN)
        if self.state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the next probe may be tried."""
        return max(1.0, self.reset_s - (self.clock() - self.opened_at))

    def success(self) -> None:
        """A call went through: close."""
        self.failures, self._probing = 0, False
        if self.state != CLOSED:
            self._set(CLOSED)

    def failure(self) -> None:
        """A call failed (connection, timeout, server error): count, open at the threshold."""
        self.failures += 1
        self._probing = False
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self.opened_at = self.clock()
            self._set(OPEN)

    def release(self) -> None:
        """A call ended without telling anything about the upstream (client gone): free the probe slot."""
        self._probing = False

    def _set(self, state: int) -> None:
        self.state = state
        self.on_change(state)


class TokenBuckets:
    """One token bucket per client: `rate` tokens a second, at most `burst` saved up."""

    _MAX_CLIENTS = 100_000

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """0 when the request may go, else the seconds to wait for the next token."""
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self._MAX_CLIENTS:
            self._forget_idle(now)
        return (1.0 - tokens) / self.rate

    def left(self, client: str) -> tuple[int, float]:
        """Whole tokens left after the last take, and the seconds until the bucket is full again."""
        tokens = self._buckets.get(client, (self.burst, 0.0))[0]
        return int(tokens), (self.burst - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # A bucket that would be full again carries no information: dropping it changes nothing.
        full_after = self.burst / self.rate
        self._buckets = {c: v for c, v in self._buckets.items() if now - v[1] < full_after}


_UNCOUNTED = frozenset({"/healthz", "/readyz", "/metrics"})


def shedding_middleware(
    limit: int, on_shed: Callable[[], None], body_limits: Mapping[str, int], default_body: int
) -> tuple[Middleware, InflightCap]:
    """Refuse with 503 + Retry-After, at once, beyond `limit` requests in flight (probes never count).

    A body is read before the slot is taken, up to its route's limit: `body_limits` by route template (a batch
    of reports), else `default_body` (the app's `client_max_size`).

    Returns the middleware and its cap (whose `in_flight` the metrics read).
    """

    def refuse() -> Overloaded:
        on_shed()
        return Overloaded(f"plus de {limit} requêtes en cours, réessayez", retry_after=1)

    cap = InflightCap(limit, refuse)

    @web.middleware
    async def shed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in _UNCOUNTED:
            return await handler(request)
        if request.body_exists:
            # A body arrives at the client's pace: read it (within the body timeout, else 408) before taking
            # a slot, so that slow uploads hold their own connections, never the capacity serving the others.
            resource = request.match_info.route.resource
            allowed = body_limits.get(resource.canonical if resource else "", default_body)
            too_large = PayloadTooLarge(f"corps de requête de plus de {allowed // 1024} Kio", limit=allowed)
            await read_body_upto(request, allowed, too_large)
        with cap:
            return await handler(request)

    return shed, cap


def client_of(request: web.Request, trust_forwarded: bool) -> str:
    """The client address; behind our proxy, the address it appended to X-Forwarded-For."""
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded:
            return forwarded.rsplit(",", 1)[-1].strip()
    return request.remote or "-"
