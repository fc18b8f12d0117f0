"""Prometheus exporter for the nginx tile cache: stub_status gauges, counters from nginx's own log stream.

    python -m services.common.nginx_exporter

nginx-light has no metrics module, and stub_status alone cannot say what the cache does. So nginx sends one
compact line per request over syslog (UDP, loopback, `access_log syslog:… metrics;` in the tile-cache
configuration) and this process counts them: requests by listener, cache status and status class, and a
latency histogram of cache hits and origin trips, i.e. the tile SLOs of deploy/SLO.md. UDP on loopback drops
nothing at our rates, and if this process is down nginx serves on regardless (a lost datagram is a lost count,
never a slower tile). It runs as a sidecar of the tile-cache pod and once in `make prod-up`.

Settings (`REZONE_NGINX_EXPORTER_*`): HOST, PORT (metrics, /healthz, /readyz), SYSLOG_PORT, STATUS_URL (the
stub_status location), SCRAPE_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator

import aiohttp
from aiohttp import web
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .settings import ServiceSettings
from .web import METRICS, base_app, serve

log = logging.getLogger("rezone.nginx_exporter")
PREFIX = "REZONE_NGINX_EXPORTER_"

# `log_format metrics '$server_port $status $upstream_cache_status $request_time';` (empty cache status: "-").
LINE = re.compile(rb"(\d+) (\d{3}) ([A-Z-]*) ([\d.]+)\s*$")
STUB = re.compile(
    r"Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)\s+"
    r"Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)"
)


class Settings(ServiceSettings, frozen=True, kw_only=True):
    """Exporter settings (the shared base, so that `serve` reads them like a service's)."""

    database_url: str = ""  # unused: the exporter reads nginx, never the database
    host: str = "127.0.0.1"
    port: int = 9113
    syslog_port: int = 5140
    status_url: str = "http://127.0.0.1:8081/stub_status"
    scrape_timeout_s: float = 2.0
    log_level: str = "INFO"
    shutdown_timeout_s: float = 5.0


class LogCounters:
    """Counters fed by the log stream."""

    def __init__(self, app: web.Application) -> None:
        registry = app[METRICS].registry
        self.requests = Counter(
            "nginx_requests_total",
            "Requests served by nginx, by listener port, cache status (none: not a cached location), class",
            ["listener", "cache", "code"],
            registry=registry,
        )
        self.duration = Histogram(
            "nginx_request_duration_seconds",
            "nginx request time (first byte read to last byte sent), by listener and cache status",
            ["listener", "cache"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.malformed = Counter(
            "nginx_exporter_malformed_lines_total", "Log lines the exporter could not read", registry=registry
        )

    def feed(self, datagram: bytes) -> None:
        """Count one syslog datagram (`<PRI>… tag: <line>`)."""
        _, _, body = datagram.partition(b": ")
        match = LINE.search(body or datagram)
        if match is None:
            self.malformed.inc()
            return
        port, status, cache, seconds = match.groups()
        cache_label = cache.decode() if cache and cache != b"-" else "none"
        listener = port.decode()
        self.requests.labels(listener, cache_label, status[:1].decode() + "xx").inc()
        self.duration.labels(listener, cache_label).observe(float(seconds))


class StubStatus(Collector):
    """stub_status as gauges and counters; the last good read is served (refreshed in the background)."""

    def __init__(self) -> None:
        self.values: tuple[int, ...] | None = None
        self.up = 0

    def collect(self) -> Iterator[Metric]:  # noqa: D102
        up = GaugeMetricFamily("nginx_up", "1 when the last stub_status read succeeded")
        up.add_metric([], self.up)
        yield up
        if self.values is None:
            return
        active, accepted, handled, requests, reading, writing, waiting = self.values
        conns = GaugeMetricFamily("nginx_connections", "Client connections by state", labels=["state"])
        for state, value in (("active", active), ("reading", reading), ("writing", writing)):
            conns.add_metric([state], value)
        conns.add_metric(["waiting"], waiting)
        yield conns
        for name, value, text in (
            ("nginx_connections_accepted", accepted, "Accepted client connections"),
            ("nginx_connections_handled", handled, "Handled client connections"),
            ("nginx_http_requests", requests, "Client requests (all listeners)"),
        ):
            counter = CounterMetricFamily(name, text)
            counter.add_metric([], value)
            yield counter


class _Syslog(asyncio.DatagramProtocol):
    def __init__(self, counters: LogCounters) -> None:
        self.counters = counters

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # noqa: D102
        self.counters.feed(data)


STUB_KEY = web.AppKey("stub_status", StubStatus)
SETTINGS = web.AppKey("settings", Settings)


async def _poll(app: web.Application) -> None:
    settings = app[SETTINGS]
    stub = app[STUB_KEY]
    timeout = aiohttp.ClientTimeout(total=settings.scrape_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            try:
                async with session.get(settings.status_url) as resp:
                    match = STUB.search(await resp.text())
                if match is None:
                    raise ValueError("not a stub_status page")
                stub.values = tuple(int(g) for g in match.groups())
                stub.up = 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                if stub.up:
                    log.warning("stub_status unreachable", extra={"error": str(exc) or type(exc).__name__})
                stub.up = 0
            await asyncio.sleep(2.0)


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Syslog(LogCounters(app)), local_addr=("127.0.0.1", settings.syslog_port)
    )
    poller = asyncio.create_task(_poll(app))
    yield
    poller.cancel()
    transport.close()


async def _nginx_seen(app: web.Application) -> None:
    if not app[STUB_KEY].up:
        raise ConnectionError("stub_status not read yet")


def create_app(settings: Settings) -> web.Application:
    """Exporter application: /metrics (with process collectors), /healthz, /readyz (stub_status read)."""
    app = base_app("nginx-exporter", settings, readiness=[_nginx_seen])
    app[SETTINGS] = settings
    stub = StubStatus()
    app[STUB_KEY] = stub
    app[METRICS].registry.register(stub)
    app.cleanup_ctx.append(_ctx)
    return app


if __name__ == "__main__":
    serve("nginx-exporter", Settings, PREFIX, create_app)
