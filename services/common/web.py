"""aiohttp plumbing shared by every service: problem+json errors, request ids, metrics, health, run loop."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import (
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .errors import BadRequest, PayloadTooLarge, RequestTimeout, ServiceError, UnsupportedMediaType
from .logs import request_id_var, setup_logging
from .server import MALFORMED, MalformedRequests, harden, serve_forever
from .settings import ServiceSettings, load_settings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)
log = logging.getLogger("rezone.web")

JSON = "application/json"
PROBLEM = "application/problem+json"
_ENC = msgspec.json.Encoder()
REQUEST_ID_HEADER = "X-Request-ID"

ReadinessCheck = Callable[[web.Application], Awaitable[None]]


class Metrics:
    """Per-application Prometheus registry, so that several apps can live in one test process."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route and status",
            ["service", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            ["service", "route"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.malformed = Counter(
            "http_malformed_requests_total",
            "Requests refused by the HTTP parser (malformed request line or headers)",
            ["service", "status"],
            registry=self.registry,
        )
        self.dependency_up = Gauge(
            "readiness_dependency_up",
            "1 when a readiness dependency passed its last check, 0 when it failed",
            ["service", "dependency", "required"],
            registry=self.registry,
        )
        self.service = service
        # CPU, memory, file descriptors and start time of the process, and the Python version: what the
        # default registry would carry, on each app's own registry (the collectors are stateless readers).
        self.registry.register(PROCESS_COLLECTOR)
        self.registry.register(PLATFORM_COLLECTOR)


# Access log: every server error, every request slower than this, and a sample of the rest, chosen on the
# request id so that all services of one request agree (one line per hop or none). At the national rate a
# line per request would cost more than most handlers; the metrics count every request anyway.
ACCESS_LOG_SLOW_S = 1.0
ACCESS_LOG_SAMPLE = 1 / 100
access_log = logging.getLogger("rezone.access")


def sampled(request_id: str, rate: float = ACCESS_LOG_SAMPLE) -> bool:
    """Whether this request id falls in the sample (a stable hash, the same in every service)."""
    return zlib.crc32(request_id.encode()) < rate * 0x1_0000_0000


METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", list[ReadinessCheck])
# Dependencies whose failure degrades the service without making it unready (the gateway's report service).
READINESS_OPTIONAL = web.AppKey("readiness_optional", list[ReadinessCheck])
READY_TIMEOUT_S = web.AppKey("ready_timeout_s", float)
INTERNAL_APP = web.AppKey("internal_app", web.Application)
BODY_TIMEOUT = web.AppKey("body_timeout_s", float)
BODY_LIMIT = web.AppKey("client_max_size", int)


def json_response(obj: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Encode a Struct (or plain data) with the shared encoder."""
    return web.Response(body=_ENC.encode(obj), status=status, content_type=JSON, headers=headers)


def problem_response(status: int, code: str, title: str, detail: str, **extra: Any) -> web.Response:
    """RFC 9457 problem document with our stable `code`."""
    body = {
        "type": f"https://rezone-cpts.example/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(int(extra["retry_after"]))
    return web.Response(body=_ENC.encode(body), status=status, content_type=PROBLEM, headers=headers)


# The body once read: every reader (a shedding middleware reading it before taking a slot, then the handler)
# goes through `read_body_upto`, so the stream is consumed once and each reader applies its own limit.
_BODY = "rezone.body"


async def read_body(request: web.Request) -> bytes:
    """The request body, up to the app's `client_max_size` (else 413), read within the app's body timeout (a
    client sending it slowly gets a 408)."""
    limit = request.config_dict.get(BODY_LIMIT, 1 << 20)
    return await read_body_upto(
        request, limit, PayloadTooLarge(f"corps de requête de plus de {limit // 1024} Kio", limit=limit)
    )


async def read_body_upto(request: web.Request, limit: int, too_large: ServiceError) -> bytes:
    """A body of at most `limit` bytes (which may pass the app's `client_max_size`: a project file, a batch of
    reports): refused with `too_large` from Content-Length, or as soon as a chunked body passes it."""
    done: bytes | None = request.get(_BODY)
    if done is not None:
        if len(done) > limit:
            raise too_large
        return done
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(request.app.get(BODY_TIMEOUT, 10.0)):
            async for chunk in request.content.iter_chunked(16_384):
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout("corps de requête reçu trop lentement") from None
    request[_BODY] = body = b"".join(chunks)
    return body


def is_json(content_type: str) -> bool:
    """application/json or a +json type: what a JSON body must be declared as."""
    return content_type == JSON or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def require_json(request: web.Request) -> None:
    """A body that must be JSON: refused with 415 unless declared so (text/plain is a CSRF-able simple
    request a browser sends cross-origin without preflight)."""
    if not is_json(request.content_type):
        raise UnsupportedMediaType(
            f"corps attendu en {JSON}, reçu {request.content_type or 'sans type'}", expected=JSON
        )


async def read_json_body(request: web.Request) -> bytes:
    """A JSON body (require_json), read within the body timeout."""
    require_json(request)
    return await read_body(request)


async def parse_body(request: web.Request, decoder: msgspec.json.Decoder[Any]) -> Any:
    """Typed JSON body."""
    try:
        return decoder.decode(await read_json_body(request))
    except msgspec.ValidationError as exc:
        raise BadRequest(f"corps de requête invalide : {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest(f"JSON invalide : {exc}") from exc


def _route_label(request: web.Request) -> str:
    info = request.match_info
    if info.route and info.route.resource is not None:
        return info.route.resource.canonical
    return "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id (taken from the caller or made here), metrics by route template, problem+json errors."""
    rid = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    token = request_id_var.set(rid)
    started = time.perf_counter()
    metrics = request.app.get(METRICS)
    response: web.StreamResponse | None = None
    try:
        try:
            response = await handler(request)
        except ServiceError as exc:
            response = problem_response(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
                exc.status, "http_error"
            )
            response = problem_response(exc.status, code, exc.reason, exc.text or exc.reason)
            if "Allow" in exc.headers:  # a 405 must still say which methods the resource accepts
                response.headers["Allow"] = exc.headers["Allow"]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error", extra={"path": request.path})
            response = problem_response(
                500, "internal_error", "Erreur interne", "erreur interne, voir les journaux"
            )
        response.headers[REQUEST_ID_HEADER] = rid
        return response
    finally:
        elapsed = time.perf_counter() - started
        if metrics is not None:
            route = _route_label(request)
            status = response.status if response is not None else 499  # 499: the client went away
            metrics.requests.labels(metrics.service, route, request.method, str(status)).inc()
            metrics.latency.labels(metrics.service, route).observe(elapsed)
        status = response.status if response is not None else 499
        if status >= 500 or elapsed >= ACCESS_LOG_SLOW_S or sampled(rid):
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": _route_label(request),
                    "status": status,
                    "duration_s": round(elapsed, 4),
                    "sampled": status < 500 and elapsed < ACCESS_LOG_SLOW_S,
                },
            )
        request_id_var.reset(token)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers."""
    return json_response({"status": "ok"})


async def _failures(app: web.Application, checks: list[ReadinessCheck], required: bool) -> dict[str, str]:
    async def one(check: ReadinessCheck) -> str | None:
        try:
            await asyncio.wait_for(check(app), timeout=app.get(READY_TIMEOUT_S, 3.0))
            return None
        except Exception as exc:  # any failure of a dependency is reported, never raised
            return str(exc) or type(exc).__name__

    results = await asyncio.gather(*(one(c) for c in checks))
    metrics = app.get(METRICS)
    failures = {}
    for check, failure in zip(checks, results, strict=True):
        name = getattr(check, "__name__", "check")
        if metrics is not None:
            metrics.dependency_up.labels(metrics.service, name, str(required).lower()).set(failure is None)
        if failure is not None:
            failures[name] = failure
    return failures


async def readiness_response(app: web.Application, *, detailed: bool) -> web.Response:
    """Ready when every required dependency passes; optional ones only show as `degraded` (detailed)."""
    failures = await _failures(app, app[READINESS], True)
    degraded = await _failures(app, app.get(READINESS_OPTIONAL, []), False)
    if failures:
        extra = {"failures": failures, "degraded": degraded} if detailed else {}
        return problem_response(503, "not_ready", "Service non prêt", "dépendance injoignable", **extra)
    body: dict[str, Any] = {"status": "degraded" if degraded else "ready"}
    if detailed and degraded:
        body["degraded"] = degraded
    return json_response(body)


async def readyz(request: web.Request) -> web.Response:
    """Readiness with the failing dependencies named (internal use: probes, operators)."""
    return await readiness_response(request.app, detailed=True)


async def public_readyz(request: web.Request) -> web.Response:
    """Readiness for the public port: the status only, nothing about the inside."""
    return await readiness_response(request.app, detailed=False)


async def metrics_handler(request: web.Request) -> web.Response:
    """Prometheus exposition of this app's registry."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def base_app(
    service: str,
    settings: ServiceSettings,
    *,
    readiness: Iterable[ReadinessCheck] = (),
    optional: Iterable[ReadinessCheck] = (),
    middlewares: Iterable[Middleware] = (),
    internal: bool = False,
) -> web.Application:
    """Application with the shared middleware, /healthz, /readyz and /metrics; its body limit and timeouts
    from `settings`.

    `internal`: /metrics and the detailed /readyz live on a second app (`app[INTERNAL_APP]`, served on an
    internal port) and the public /readyz answers the status only.
    """
    app = web.Application(
        middlewares=[request_context, *middlewares], client_max_size=settings.client_max_size
    )
    metrics = app[METRICS] = Metrics(service)
    app[READINESS] = list(readiness)
    app[READINESS_OPTIONAL] = list(optional)
    app[BODY_TIMEOUT] = settings.body_timeout_s
    app[BODY_LIMIT] = settings.client_max_size
    app[MALFORMED] = MalformedRequests(lambda status: metrics.malformed.labels(service, str(status)).inc())
    harden(app)
    app[READY_TIMEOUT_S] = settings.ready_timeout_s
    app.router.add_get("/healthz", healthz)
    if not internal:
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/metrics", metrics_handler)
        return app
    app.router.add_get("/readyz", public_readyz)
    inside = web.Application(middlewares=[request_context])
    inside[METRICS] = metrics
    inside[MALFORMED] = app[MALFORMED]
    harden(inside)
    inside.router.add_get("/healthz", healthz)

    async def inside_readyz(request: web.Request) -> web.Response:
        return await readiness_response(app, detailed=True)

    async def inside_metrics(request: web.Request) -> web.Response:
        body = generate_latest(app[METRICS].registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    inside.router.add_get("/readyz", inside_readyz)
    inside.router.add_get("/metrics", inside_metrics)
    app[INTERNAL_APP] = inside
    return app


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    shutdown_timeout: float = 25.0,
    header_timeout_s: float = 15.0,
    internal_host: str = "127.0.0.1",
    internal_port: int = 0,
) -> None:
    """Serve until SIGTERM/SIGINT, then stop accepting and let in-flight requests finish."""
    inside = app.get(INTERNAL_APP)
    serve_forever(
        app,
        host=host,
        port=port,
        shutdown_timeout=shutdown_timeout,
        header_timeout_s=header_timeout_s,
        internal=(inside, internal_host, internal_port) if inside is not None and internal_port else None,
    )


def serve(
    service: str, settings_cls: type[S], prefix: str, create_app: Callable[[S], web.Application]
) -> None:
    """The `__main__` of every service: settings read once from the environment, JSON logs, until SIGTERM."""
    settings = load_settings(settings_cls, prefix)
    setup_logging(service, settings.log_level)
    run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_s,
        header_timeout_s=settings.header_timeout_s,
        internal_host=getattr(settings, "internal_host", "127.0.0.1"),
        internal_port=getattr(settings, "internal_port", 0),
    )
