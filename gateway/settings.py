"""Gateway settings, read once from `REZONE_GATEWAY_*` (plus unprefixed `DATABASE_URL` and `REDIS_URL`)."""

from __future__ import annotations

import msgspec
from aiohttp import web

from services.common.settings import ServiceSettings
from services.common.validation import MAX_BATCH, MAX_COMMUNES, MAX_NAME_LENGTH

PREFIX = "REZONE_GATEWAY_"


class Settings(ServiceSettings, frozen=True, kw_only=True):
    """Everything the gateway can be told; defaults suit the local stack."""

    redis_url: str = ""
    tiles_url: str = "http://127.0.0.1:8081"
    aggregate_url: str = "http://127.0.0.1:8082"
    report_url: str = "http://127.0.0.1:8083"
    # Empty: the repository's `web/` next to the package.
    web_dir: str = ""

    max_communes: int = MAX_COMMUNES
    # 100 codes of 5 characters plus quotes is ~1 KiB; 16 KiB leaves room for padding and a project name
    # while keeping a flood of bodies cheap to refuse.
    # Read from REZONE_GATEWAY_MAX_BODY_BYTES, the name it has always had.
    client_max_size: int = msgspec.field(default=16 * 1024, name="max_body_bytes")
    max_name_length: int = MAX_NAME_LENGTH
    # Batch reports (POST /api/v1/reports): reports per batch, and the body of a batch, read past
    # max_body_bytes (up to max_batch selections of max_communes codes and a name each).
    max_batch: int = MAX_BATCH
    batch_max_body_bytes: int = 512 * 1024
    # Commune search: the longest query read, the most results one answer holds.
    search_max_chars: int = 100
    search_limit_max: int = 50
    # Lists (CPTS, communes of a département, région or EPCI): the page size unless asked, the largest.
    list_limit_default: int = 100
    list_limit_max: int = 1000
    # The origin users reach (REZONE_PUBLIC_URL): the OpenAPI `servers` and the pages' `Link` URLs name it,
    # never the request's Host or X-Forwarded-* headers.
    public_url: str = "http://127.0.0.1:8080"

    connect_timeout_s: float = 2.0
    tiles_timeout_s: float = 5.0
    diagnosis_timeout_s: float = 10.0
    report_timeout_s: float = 30.0
    # Upstream answers are read whole before being cached; a runaway body must not exhaust memory.
    max_upstream_body_bytes: int = 32 * 1024 * 1024

    # ~800 CPTS perimeters pre-warmed (diagnosis ~70 KiB with its gzip copy, summary) fit with room to spare.
    cache_max_bytes: int = 128 * 1024 * 1024
    cache_max_entry_bytes: int = 8 * 1024 * 1024
    cache_ttl_s: float = 3600.0
    # Search answers per data version (typeahead repeats its prefixes); 0 disables.
    search_cache_max_bytes: int = 8 * 1024 * 1024
    # List pages per data version (a national crawl of every département's communes is ~10 MiB); 0 disables.
    list_cache_max_bytes: int = 16 * 1024 * 1024
    # Tiles whose URL carries the data version (answered `immutable` by the tiles service); 0 disables.
    tiles_cache_max_bytes: int = 64 * 1024 * 1024
    # A tile larger than this is relayed but not kept (the densest tiles are ~100 KiB).
    tiles_cache_max_entry_bytes: int = 512 * 1024
    redis_timeout_s: float = 0.25
    api_max_age_s: int = 300

    # An idempotent API call the upstream shed (503: that replica is full) is sent once more on a new
    # connection (the Service may pick another replica) after a short pause, for at most this share of the
    # calls (gateway/resilience.py RetryBudget); 0 never retries.
    retry_ratio: float = 0.1
    retry_pause_s: float = 0.025

    breaker_failures: int = 5
    breaker_reset_s: float = 15.0

    max_inflight: int = 256
    rate_per_s: float = 20.0
    rate_burst: int = 40
    # With a Redis URL, one budget per client across every replica (gateway/ratelimit.py); false: per replica.
    rate_shared: bool = True
    # Regional tools' API keys with their own quota per window: `name:sha256-hex:quota,…` (never the keys
    # themselves); sent as X-API-Key, never required.
    api_keys: str = ""
    # Behind a trusted proxy, the client is the last address of X-Forwarded-For (the one our proxy appended).
    trust_forwarded: bool = False

    frame_ancestors: str = "'self'"
    # Comma-separated origins allowed to call /api/ from a browser.
    cors_origins: str = ""

    catalogue_refresh_s: float = 60.0
    prewarm: bool = True
    # One at a time: the warm-up competes with live requests for the aggregate service and the database.
    prewarm_concurrency: int = 1
    # Upstreams whose reachability is part of /readyz: the core (map, search, diagnosis). Comma-separated;
    # empty: database only.
    ready_upstreams: str = "tiles,aggregate"
    # Upstreams whose loss degrades the service (the PDF, exports) without making it unready: reported in
    # the internal /readyz (`degraded`) and in readiness_dependency_up.
    optional_upstreams: str = "report"
    # /metrics and the detailed /readyz: an internal port, never the public one (0: not served).
    internal_host: str = "127.0.0.1"
    internal_port: int = 8090
    pool_max: int = 5
    shutdown_timeout_s: float = 25.0
    # Redis client close at shutdown: a wedged server must not hold the exit.
    redis_close_timeout_s: float = 1.0

    @property
    def cache_control(self) -> str:
        """Cache-Control of API answers: public data, keyed by the data version, revalidated by ETag."""
        return f"public, max-age={self.api_max_age_s}"


SETTINGS = web.AppKey("settings", Settings)


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list of non-empty items."""
    return [item.strip() for item in value.split(",") if item.strip()]
