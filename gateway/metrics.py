"""Gateway-specific Prometheus metrics, registered on the app's own registry (services.common.web.METRICS)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    """Cache, upstream, breaker, shedding and rate-limit metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.cache = Counter(
            "gateway_cache_requests_total",
            "Selection cache lookups by endpoint and result (hit, shared, coalesced, miss, stale)",
            ["endpoint", "result"],
            registry=registry,
        )
        self.cache_hit_ratio = Gauge(
            "gateway_cache_hit_ratio",
            "Share of selection lookups answered without an upstream call since start",
            registry=registry,
        )
        self.cache_bytes = Gauge(
            "gateway_cache_bytes", "Bytes held by the in-process selection cache", registry=registry
        )
        self.cache_entries = Gauge(
            "gateway_cache_entries", "Entries in the in-process selection cache", registry=registry
        )
        self.redis_errors = Counter(
            "gateway_redis_errors_total", "Failed or timed-out Redis calls", registry=registry
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors_total",
            "Upstream failures by upstream and kind (connection, timeout, status_5xx, breaker_open)",
            ["upstream", "kind"],
            registry=registry,
        )
        self.upstream_retries = Counter(
            "gateway_upstream_retries_total",
            "Idempotent calls sent again after the upstream shed them (503), within the retry budget",
            ["upstream"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "gateway_upstream_duration_seconds",
            "Upstream call latency",
            ["upstream"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.breaker_state = Gauge(
            "gateway_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open",
            ["upstream"],
            registry=registry,
        )
        self.inflight = Gauge(
            "gateway_inflight_requests", "Requests being served (probes excluded)", registry=registry
        )
        self.shed = Counter(
            "gateway_shed_total", "Requests refused with 503 by the in-flight cap", registry=registry
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total", "API requests refused with 429", registry=registry
        )
        self.data_version = Gauge(
            "gateway_data_version_info",
            "Data version the catalogue was loaded at",
            ["version"],
            registry=registry,
        )

    def bind(
        self,
        *,
        hit_ratio: Callable[[], float],
        cache_bytes: Callable[[], float],
        cache_entries: Callable[[], float],
        inflight: Callable[[], float],
    ) -> None:
        """Gauges read at scrape time from the objects that own the numbers."""
        self.cache_hit_ratio.set_function(hit_ratio)
        self.cache_bytes.set_function(cache_bytes)
        self.cache_entries.set_function(cache_entries)
        self.inflight.set_function(inflight)

    def breaker_listener(self, upstream: str) -> Callable[[int], None]:
        """on_change callback for one upstream's breaker."""
        gauge = self.breaker_state.labels(upstream)
        gauge.set(0)
        return gauge.set


GW_METRICS = web.AppKey("gateway_metrics", GatewayMetrics)
