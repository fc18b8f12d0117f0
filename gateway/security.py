"""Security headers on every response; CORS `*` on tiles and styles, an allow-list on the API.

Headers are set in `on_response_prepare`, so error documents, static files and streamed tiles get them too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.common.http import SHARED_EXPOSED
from services.common.logs import request_id_var
from services.common.web import REQUEST_ID_HEADER

_API_METHODS = "GET, POST, OPTIONS"
_API_HEADERS = "Content-Type, If-None-Match, X-Request-ID"
# Link: the next page of a list, which a regional tool in a browser on another origin follows.
_EXPOSED = "ETag, X-Request-ID, X-Cache, Retry-After, Content-Disposition, Link"


def content_security_policy(frame_ancestors: str) -> str:
    """CSP of the page: self-hosted scripts and styles, the MapLibre worker (module or blob: wrapper)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


def _is_shared(path: str) -> bool:
    return path.startswith("/tiles/") or path.startswith("/styles/")


def security_headers(
    frame_ancestors: str, allowed_origins: list[str]
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """on_response_prepare handler adding the headers for this deployment's settings."""
    csp = content_security_policy(frame_ancestors)
    origins = frozenset(allowed_origins)

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        h = response.headers
        if REQUEST_ID_HEADER not in h:  # streamed answers are sent before the middleware could add it
            h[REQUEST_ID_HEADER] = request_id_var.get()
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        h.setdefault("Content-Security-Policy", csp)
        if _is_shared(request.path):
            h["Access-Control-Allow-Origin"] = "*"
            h["Access-Control-Expose-Headers"] = SHARED_EXPOSED
            h["Cross-Origin-Resource-Policy"] = "cross-origin"
        elif request.path.startswith("/api/"):
            h.add("Vary", "Origin")
            origin = request.headers.get("Origin")
            if origin is not None and origin in origins:
                h["Access-Control-Allow-Origin"] = origin
                h["Access-Control-Expose-Headers"] = _EXPOSED

    return add_headers


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight: allowed origins get the methods and headers; the decision itself is in add_headers."""
    headers = {"Access-Control-Max-Age": "600"}
    if _is_shared(request.path):
        headers.update(
            {
                "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                "Access-Control-Allow-Headers": "If-None-Match, Range",
            }
        )
    else:
        headers.update(
            {"Access-Control-Allow-Methods": _API_METHODS, "Access-Control-Allow-Headers": _API_HEADERS}
        )
    return web.Response(status=204, headers=headers)
