"""How the gateway's own handlers read a query string and answer: unknown parameters refused, conditional
answers (ETag, 304, the gzip variant) from bytes or from a cache entry."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from services.common.http import accepts_gzip, etag_matches, strong_etag

from .cache import Entry
from .errors import UnknownParameter
from .settings import SETTINGS


def checked_query(request: web.Request, allowed: Iterable[str]) -> web.Request:
    """The request, once its query string names only `allowed` parameters (keeps cache keys canonical)."""
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        raise UnknownParameter(f"paramètre(s) inconnu(s) : {', '.join(unknown)}", parameters=unknown)
    return request


def conditional(
    request: web.Request,
    body: bytes,
    content_type: str,
    etag: str | None = None,
    extra: dict[str, str] | None = None,
    gzipped: bytes = b"",
) -> web.Response:
    """200 with ETag and Cache-Control (gzip variant when the client takes it), or 304 when it has it."""
    etag = etag or strong_etag(body)
    headers = {"Cache-Control": request.app[SETTINGS].cache_control, **(extra or {})}
    if gzipped:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("Accept-Encoding", "")):
            # A strong validator names one representation: the compressed one gets its own.
            etag, body = etag[:-1] + '-gz"', gzipped
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if etag_matches(request.headers.get("If-None-Match"), etag):
        headers.pop("Content-Encoding", None)
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)


def entry_response(
    request: web.Request, entry: Entry, how: str, extra: dict[str, str] | None = None
) -> web.Response:
    """A cached entry, conditionally, saying where it came from (X-Cache)."""
    headers = {"X-Cache": how, **(extra or {})}
    if entry.disposition:
        headers["Content-Disposition"] = entry.disposition
    return conditional(request, entry.body, entry.content_type, entry.etag, headers, entry.gzipped)
