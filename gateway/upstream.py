"""The three upstreams: one client session each, a circuit breaker each, timeouts on every call.

API calls read the answer whole (it is cached and relayed as opaque bytes); tiles and styles are streamed
through untouched, `Content-Encoding` included (sessions never decompress).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from yarl import URL

from services.common.errors import UpstreamTimeout
from services.common.http import (
    TILE_REQUEST_HEADERS,
    UPSTREAM_IDLE_S,
    UPSTREAM_RETRY_AFTER_S,
    UpstreamProblem,
    problem_fields,
    read_capped,
    retry_after_of,
)
from services.common.logs import request_id_var
from services.common.web import REQUEST_ID_HEADER

from .cache import Entry, make_entry
from .errors import BadGateway, UpstreamUnavailable
from .metrics import GatewayMetrics
from .resilience import CircuitBreaker, RetryBudget

log = logging.getLogger("rezone.gateway.upstream")

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Server",
        "Date",
    )
)
_ENC = msgspec.json.Encoder()
_WHOLE_BODY = 256 * 1024  # at most this much is relayed in one piece; larger or unsized bodies are streamed


class UpstreamTimeoutError(UpstreamTimeout):
    """The upstream did not answer within the route's timeout."""

    code = "upstream_timeout"


class _Shed(Exception):
    """The upstream shed a call (503, or 429 with Retry-After): `error` is what the client gets."""

    def __init__(self, error: UpstreamUnavailable) -> None:
        super().__init__(str(error))
        self.error = error


class Upstream:
    """A named upstream service: its session, breaker, retry budget and per-call timeouts."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_s: float,
        breaker: CircuitBreaker,
        metrics: GatewayMetrics,
        max_body: int,
        retries: RetryBudget | None = None,
        retry_pause_s: float = 0.025,
    ) -> None:
        self.name, self.base = name, URL(base_url)
        self.connect_s, self.breaker, self.metrics, self.max_body = connect_s, breaker, metrics, max_body
        self.retries, self.retry_pause_s = retries or RetryBudget(0), retry_pause_s
        self.session: aiohttp.ClientSession | None = None
        # Retries go out on a new connection: a pooled one leads back to the replica that shed, a new one is
        # balanced again by the Service (kube-proxy picks an endpoint per connection).
        self.fresh: aiohttp.ClientSession | None = None
        self._latency = metrics.upstream_latency.labels(name)  # bound once: labels() costs a lookup per call

    async def start(self) -> None:
        """One pooled session for the life of the app (never a session per request)."""
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_s, sock_connect=self.connect_s),
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=UPSTREAM_IDLE_S),
        )
        self.fresh = aiohttp.ClientSession(
            auto_decompress=False, connector=aiohttp.TCPConnector(limit=50, force_close=True)
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        for session in (self.session, self.fresh):
            if session is not None:
                await session.close()

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=seconds, connect=self.connect_s, sock_connect=self.connect_s)

    @contextlib.asynccontextmanager
    async def _guarded(self) -> AsyncIterator[None]:
        """Breaker gate and the mapping of transport failures to 502/503/504, counted per upstream."""
        if not self.breaker.allow():
            self.metrics.upstream_errors.labels(self.name, "breaker_open").inc()
            raise UpstreamUnavailable(
                f"service {self.name} indisponible",
                upstream=self.name,
                retry_after=int(self.breaker.retry_after() + 0.999),
            )
        started = time.perf_counter()
        try:
            yield
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            self._failed("timeout")
            raise UpstreamTimeoutError(
                f"le service {self.name} n'a pas répondu à temps", upstream=self.name
            ) from exc
        except aiohttp.ClientConnectionError as exc:
            # Nobody listening (restarting, crashed): retryable, like an open breaker.
            self._failed("connection")
            raise UpstreamUnavailable(
                f"service {self.name} injoignable",
                upstream=self.name,
                retry_after=int(self.breaker.retry_after() + 0.999)
                if self.breaker.state != 0
                else UPSTREAM_RETRY_AFTER_S,
            ) from exc
        except aiohttp.ClientError as exc:
            self._failed("connection")
            raise BadGateway(f"service {self.name} injoignable", upstream=self.name) from exc
        finally:
            self._latency.observe(time.perf_counter() - started)

    def _failed(self, kind: str) -> None:
        self.breaker.failure()
        self.metrics.upstream_errors.labels(self.name, kind).inc()

    def _status(self, status: int, retry_after: str | None = None) -> None:
        """5xx counts against the breaker; anything else (4xx included) proves the upstream alive.

        A 503 (or a 429 with Retry-After) is the upstream saying it cannot serve now (shedding, its
        database down): it is alive and answering, so it neither opens the breaker (a burst would cut the
        route for a whole reset period after the upstream recovered) nor closes it.
        """
        if status == 503 or (status == 429 and retry_after):
            self.breaker.release()
            self.metrics.upstream_errors.labels(self.name, "shed").inc()
        elif status >= 500:
            self._failed("status_5xx")
        else:
            self.breaker.success()

    def _unavailable(self, retry_after: str | None) -> UpstreamUnavailable:
        """The upstream's own 503 relayed as ours, with its Retry-After (a default when it gave none)."""
        return UpstreamUnavailable(
            f"service {self.name} momentanément indisponible",
            upstream=self.name,
            retry_after=retry_after_of(retry_after),
        )

    async def post_json(
        self, path: str, payload: Any, timeout_s: float, *, idempotent: bool = False
    ) -> Entry:
        """POST a JSON body, return the 200 answer as a cache entry; errors become ServiceErrors.

        `idempotent`: the call reads only (the same body always asks the same thing), so a shed one may be
        sent again (see `call`).
        """
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            REQUEST_ID_HEADER: request_id_var.get(),
        }
        return await self.call("POST", path, _ENC.encode(payload), headers, timeout_s, idempotent=idempotent)

    async def post_bytes(self, path: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Entry:
        """POST raw bytes (project import, JSON bodies) and read the answer whole, bounded in size."""
        return await self.call("POST", path, body, headers, timeout_s)

    async def get(self, path: str, timeout_s: float) -> Entry:
        """GET a JSON document (a batch's state) whole; errors become ServiceErrors."""
        headers = {"Accept-Encoding": "identity", REQUEST_ID_HEADER: request_id_var.get()}
        return await self.call("GET", path, None, headers, timeout_s)

    async def call(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
        *,
        idempotent: bool = False,
    ) -> Entry:
        """One call whose 2xx answer is read whole, bounded in size; 4xx problems are relayed as such.

        An idempotent call the upstream shed (503: that replica is at its in-flight cap) is sent once more,
        after `retry_pause_s`, on a new connection, when the retry budget allows it and time is left: with
        several replicas behind the Service the other one usually has room, and the shed answer cost the
        upstream almost nothing. A timeout or a server error is never retried (the work may be running).
        """
        started = time.monotonic()
        self.retries.deposit()
        try:
            return await self._call_once(method, path, body, headers, timeout_s, self.session)
        except _Shed as shed:
            left = timeout_s - (time.monotonic() - started) - self.retry_pause_s
            if not idempotent or left <= 0 or not self.retries.withdraw():
                raise shed.error from None
        self.metrics.upstream_retries.labels(self.name).inc()
        await asyncio.sleep(self.retry_pause_s)
        try:
            return await self._call_once(method, path, body, headers, left, self.fresh)
        except _Shed as shed:
            raise shed.error from None

    async def _call_once(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
        session: aiohttp.ClientSession | None,
    ) -> Entry:
        assert session is not None
        async with self._guarded():
            async with session.request(
                method,
                self.base.with_path(path),
                data=body,
                headers=headers,
                timeout=self._timeout(timeout_s),
            ) as resp:
                data = await read_capped(
                    resp,
                    self.max_body,
                    lambda: BadGateway(f"réponse de {self.name} trop volumineuse", upstream=self.name),
                )
                ctype = resp.headers.get("Content-Type", "application/octet-stream")
                disposition = resp.headers.get("Content-Disposition", "")
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        self._status(status, retry_after)
        if 200 <= status < 300:
            return make_entry(data, ctype, disposition)
        if 400 <= status < 500 and status != 429:
            raise UpstreamProblem(status, problem_fields(data))
        if status == 503 or (status == 429 and retry_after):
            raise _Shed(self._unavailable(retry_after))
        raise BadGateway(f"réponse {status} du service {self.name}", upstream=self.name)

    async def proxy(
        self,
        request: web.Request,
        timeout_s: float,
        keep: Callable[[int, Mapping[str, str], bytes], None] | None = None,
        path: str | None = None,
    ) -> web.StreamResponse:
        """Relay a GET/HEAD as is: status, validators, encoding; large bodies streamed chunk by chunk.

        `keep(status, headers, body)` sees every answer relayed in one piece (to cache versioned tiles);
        `path` is the upstream's, when it is not the request's.
        """
        assert self.session is not None
        headers = {h: request.headers[h] for h in TILE_REQUEST_HEADERS if h in request.headers}
        headers.setdefault("Accept-Encoding", "identity")
        headers[REQUEST_ID_HEADER] = request_id_var.get()
        url = self.base.with_path(path or request.rel_url.path).with_query(request.rel_url.query)
        async with self._guarded():
            async with self.session.request(
                request.method, url, headers=headers, timeout=self._timeout(timeout_s)
            ) as resp:
                self._status(resp.status, resp.headers.get("Retry-After"))
                if resp.status == 503:
                    raise self._unavailable(resp.headers.get("Retry-After"))
                if resp.status >= 500:
                    raise BadGateway(f"réponse {resp.status} du service {self.name}", upstream=self.name)
                relayed = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
                length = resp.content_length
                if request.method != "HEAD" and length is not None and length <= _WHOLE_BODY:
                    # A tile is a few KiB: one write costs less than the streaming loop's write + drain.
                    body = await resp.read()
                    if keep is not None:
                        keep(resp.status, resp.headers, body)
                    out = web.Response(status=resp.status, reason=resp.reason, body=body)
                    for name, value in relayed:
                        if name.lower() != "content-length":
                            out.headers.add(name, value)
                    return out
                stream = web.StreamResponse(status=resp.status, reason=resp.reason)
                for name, value in relayed:
                    stream.headers.add(name, value)
                await stream.prepare(request)
                if request.method != "HEAD":
                    async for chunk in resp.content.iter_chunked(65536):
                        await stream.write(chunk)
                await stream.write_eof()
                return stream


UPSTREAMS = web.AppKey("upstreams", dict[str, Upstream])
