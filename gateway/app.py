"""create_app(settings): the gateway's routes, middlewares and long-lived resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
from aiohttp import web

from services.common.db import database_ready, pg_ctx
from services.common.errors import NotFound
from services.common.web import METRICS, ReadinessCheck, base_app

from . import batches, listings, openapi
from .apitable import API
from .cache import CACHE, SEARCH_CACHE, RedisTier, SelectionCache, entry_lru
from .catalogue import CATALOGUE, CatalogueHolder, catalogue_ctx, catalogue_ready
from .metrics import GW_METRICS, GatewayMetrics
from .prewarm import prewarm_ctx
from .ratelimit import (
    SharedLimiter,
    add_headers,
    limiter_ctx,
    parse_api_keys,
    shared_rate_limit_middleware,
)
from .resilience import CircuitBreaker, RetryBudget, TokenBuckets, shedding_middleware
from .routes import proxy_tiles
from .security import preflight, security_headers
from .settings import SETTINGS, Settings, split_list
from .static import PUBLIC_FILES, WEB_DIR, default_web_dir, index, public_files, static_file
from .tilecache import TILE_CACHE, tile_lru
from .upstream import UPSTREAMS, Upstream

log = logging.getLogger("rezone.gateway")
OPENAPI = web.AppKey("openapi", bytes)


def _upstream_ready(name: str) -> ReadinessCheck:
    async def check(app: web.Application) -> None:
        upstream = app[UPSTREAMS][name]
        assert upstream.session is not None
        async with upstream.session.get(
            upstream.base.with_path("/healthz"),
            timeout=aiohttp.ClientTimeout(total=app[SETTINGS].ready_timeout_s),
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"{name} /healthz answered {resp.status}")

    check.__name__ = f"upstream_{name}"
    return check


async def _upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    for upstream in app[UPSTREAMS].values():
        await upstream.start()
    yield
    for upstream in app[UPSTREAMS].values():
        await upstream.close()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    shared = app[CACHE].shared
    yield
    if shared is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(shared.client.aclose(), app[SETTINGS].redis_close_timeout_s)


def _build_cache(settings: Settings, gm: GatewayMetrics) -> SelectionCache:
    local = entry_lru(
        settings.cache_max_bytes, settings.cache_ttl_s, max_entry_bytes=settings.cache_max_entry_bytes
    )
    shared = None
    if settings.redis_url:
        import redis.asyncio as redis  # optional dependency (extra `gateway`)

        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
            retry_on_timeout=False,
        )
        # Redis down: stop trying for a while instead of paying its timeout on every request.
        shared = RedisTier(
            client,
            settings.redis_timeout_s,
            settings.cache_ttl_s,
            CircuitBreaker(3, 10.0),
            gm.redis_errors.inc,
        )
    return SelectionCache(local, shared, lambda endpoint, how: gm.cache.labels(endpoint, how).inc())


def create_app(settings: Settings) -> web.Application:
    """The gateway application for these settings (nothing runs until the app starts)."""
    ready = split_list(settings.ready_upstreams)
    app = base_app(
        "gateway",
        settings,
        readiness=[database_ready, catalogue_ready, *(_upstream_ready(n) for n in ready)],
        optional=[_upstream_ready(n) for n in split_list(settings.optional_upstreams)],
        internal=True,
    )
    gm = GatewayMetrics(app[METRICS].registry)
    app[GW_METRICS] = gm
    shed, inflight = shedding_middleware(
        settings.max_inflight,
        gm.shed.inc,
        {batches.BATCH_PATH: settings.batch_max_body_bytes},
        settings.client_max_size,
    )
    app.middlewares.append(shed)
    limiter = SharedLimiter(
        settings.rate_per_s,
        settings.rate_burst,
        TokenBuckets(settings.rate_per_s, settings.rate_burst),
        gm.redis_errors.inc,
        settings.redis_url if settings.rate_shared else "",
        settings.redis_timeout_s,
        parse_api_keys(settings.api_keys),
    )
    app.middlewares.append(
        shared_rate_limit_middleware(limiter, settings.trust_forwarded, gm.rate_limited.inc)
    )
    app[SETTINGS] = settings
    app[CATALOGUE] = CatalogueHolder()
    app[CACHE] = _build_cache(settings, gm)
    urls = {"tiles": settings.tiles_url, "aggregate": settings.aggregate_url, "report": settings.report_url}
    app[UPSTREAMS] = {
        name: Upstream(
            name,
            url,
            connect_s=settings.connect_timeout_s,
            metrics=gm,
            max_body=settings.max_upstream_body_bytes,
            retries=RetryBudget(settings.retry_ratio),
            retry_pause_s=settings.retry_pause_s,
            breaker=CircuitBreaker(
                settings.breaker_failures, settings.breaker_reset_s, on_change=gm.breaker_listener(name)
            ),
        )
        for name, url in urls.items()
    }
    cache = app[CACHE]
    gm.bind(
        hit_ratio=cache.hit_ratio,
        cache_bytes=lambda: cache.local.bytes,
        cache_entries=lambda: len(cache.local),
        inflight=lambda: inflight.in_flight,
    )
    # Versioned tiles are immutable: the TTL only bounds how long an unused version lingers.
    app[TILE_CACHE] = tile_lru(
        settings.tiles_cache_max_bytes, settings.cache_ttl_s, settings.tiles_cache_max_entry_bytes
    )
    app[SEARCH_CACHE] = entry_lru(settings.search_cache_max_bytes, settings.cache_ttl_s)
    app[listings.LIST_CACHE] = listings.list_cache(settings)
    app[WEB_DIR] = Path(settings.web_dir) if settings.web_dir else default_web_dir()
    app[PUBLIC_FILES] = public_files(app[WEB_DIR])

    app[OPENAPI] = msgspec.json.encode(openapi.build(settings, API))

    app.cleanup_ctx.append(
        pg_ctx(
            settings.database_url,
            app_name="rezone-gateway",
            max_size=settings.pool_max,
            statement_timeout_s=settings.statement_timeout_s,
        )
    )
    app.cleanup_ctx.append(catalogue_ctx)
    app.cleanup_ctx.append(_upstreams_ctx)
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(limiter_ctx(limiter))
    app.cleanup_ctx.append(prewarm_ctx)
    app.on_response_prepare.append(add_headers)
    app.on_response_prepare.append(
        security_headers(settings.frame_ancestors, split_list(settings.cors_origins))
    )

    API.register(app)
    app.router.add_get("/api/v1/openapi.json", _openapi)
    app.router.add_get("/api/v1/docs", _docs)
    for prefix in ("/api/", "/tiles/", "/styles/"):
        app.router.add_route("OPTIONS", prefix + "{tail:.*}", preflight)
    app.router.add_get("/tiles/{tail:.*}", proxy_tiles)
    app.router.add_get("/styles/{tail:.*}", proxy_tiles)
    app.router.add_get("/", index)
    app.router.add_get("/{path:.+}", static_file)
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[OPENAPI],
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def _docs(request: web.Request) -> web.StreamResponse:
    """The interactive reference (web/api.html: Swagger UI, self-hosted)."""
    page = request.app[PUBLIC_FILES].get("api.html")
    if page is None:
        raise NotFound("référence de l'API non installée (web/api.html)")
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
