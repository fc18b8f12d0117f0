"""The HTTP server loop of every service: aiohttp's runner with the limits a directly exposed server needs.

- Header read timeout: aiohttp closes a connection still waiting for a complete request after its keep-alive
  timeout (armed when the connection opens and after every response), so `header_timeout_s` bounds both a
  slow-loris client sending partial headers and an idle keep-alive connection. Body reads are bounded in
  `web.read_body` (body_timeout_s).
- Requests the HTTP parser refuses (malformed request line or header, oversized header) are answered with a
  problem+json document and conservative security headers, counted in `http_malformed_requests_total`, and
  logged at most once per `_LOG_EVERY_S` at warning level, never as an error with a traceback.
- No `Server` header naming aiohttp and its version.
- An optional internal site (another port) for /metrics and the detailed /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

log = logging.getLogger("rezone.web")
SERVER_NAME = "rezone-cpts"
# Error documents of the parser have no route and no app: these headers are all they get.
PARSER_ERROR_HEADERS = {
    "Server": SERVER_NAME,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_LOG_EVERY_S = 60.0
MALFORMED = web.AppKey("malformed_requests", object)


class MalformedRequests:
    """Counts parser-level refusals and logs one line per interval (with the count since the last line)."""

    def __init__(self, on_count: Any = None, clock: Any = time.monotonic) -> None:
        self.on_count, self.clock = on_count, clock
        self.total, self._unlogged, self._logged_at = 0, 0, float("-inf")

    def seen(self, status: int, exc: BaseException | None, remote: str | None) -> None:
        """One refused request."""
        self.total += 1
        self._unlogged += 1
        if self.on_count is not None:
            self.on_count(status)
        now = self.clock()
        if now - self._logged_at >= _LOG_EVERY_S:
            log.warning(
                "malformed HTTP requests refused",
                extra={
                    "count": self._unlogged,
                    "status": status,
                    "last_error": str(exc)[:200],
                    "remote": remote,
                },
            )
            self._logged_at, self._unlogged = now, 0


class _Handler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:  # a real failure of ours: aiohttp's own logging (with the traceback) applies
            return super().handle_error(request, status, exc, message)
        from .web import problem_response  # web imports this module

        counter = getattr(self._manager, "malformed", None)
        if counter is not None:
            counter.seen(status, exc, request.remote)
        resp = problem_response(
            status, "malformed_request", "Requête mal formée", "la requête HTTP est mal formée"
        )
        resp.headers.update(PARSER_ERROR_HEADERS)
        resp.force_close()
        return resp


class _Server(web.Server):
    malformed: MalformedRequests | None = None

    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    """AppRunner whose connections are handled by _Handler (same start-up sequence as AppRunner's)."""

    async def _make_server(self) -> web.Server:
        app = self.app
        loop = asyncio.get_running_loop()
        app._set_loop(loop)
        app.on_startup.freeze()
        await app.startup()
        app.freeze()
        # As AppRunner does: Server is typed for BaseRequest handlers, the app's handler takes its Request.
        server = _Server(
            app._handle,  # type: ignore[arg-type]
            request_factory=app._make_request,
            loop=loop,
            **self._kwargs,
        )
        server.malformed = app.get(MALFORMED)  # type: ignore[assignment]
        return server


async def _no_server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME


def harden(app: web.Application) -> None:
    """What every served app gets: no version in `Server`."""
    app.on_response_prepare.append(_no_server_header)


def serve_forever(
    app: web.Application,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    header_timeout_s: float,
    internal: tuple[web.Application, str, int] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then stop accepting and let in-flight requests finish."""

    async def main() -> None:
        kwargs: dict[str, Any] = {
            "access_log": None,
            "handler_cancellation": True,
            "keepalive_timeout": header_timeout_s,
            "shutdown_timeout": shutdown_timeout,
        }
        # Our own signal handling: aiohttp's raises GracefulExit out of the loop, and asyncio.run then cancels
        # every task, in-flight handlers included, before the runner could let them finish.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runners = [_Runner(app, **kwargs)]
        if internal is not None:
            runners.append(_Runner(internal[0], **kwargs))
        try:
            for runner in runners:
                await runner.setup()
            await web.TCPSite(runners[0], host, port).start()
            if internal is not None:
                await web.TCPSite(runners[1], internal[1], internal[2]).start()
            await stop.wait()
        finally:
            # Stop accepting, let in-flight requests finish (shutdown_timeout), then close the app.
            for runner in runners:
                await runner.cleanup()

    try:
        asyncio.run(main())
    except (web.GracefulExit, KeyboardInterrupt):
        pass
