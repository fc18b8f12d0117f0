"""HTTP rules every service applies the same way: content negotiation, validators, bounded reads, problems.

Written once because each copy got one detail wrong somewhere (`gzip;q=0` taken as gzip, a weak validator
compared strongly): the tiles service, the gateway's cache and relays and the report service's client of the
aggregate service all use these.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec

from .errors import ServiceError

# How long a client keeps an idle pooled connection to another service: below every server's own
# keep-alive (ServiceSettings.header_timeout_s, 15 s by default; nginx 65 s), so that a server never closes a
# connection the client is about to reuse (the request written to it would get no answer). The nginx
# upstreams in deploy/ say the same 10 s (keepalive_timeout).
UPSTREAM_IDLE_S = 10.0

# When to come back after another service's 503 that named no Retry-After, or a refused connection (a
# service restarting takes seconds): relayed by the gateway and by the report service alike.
UPSTREAM_RETRY_AFTER_S = 2

_PROBLEM = msgspec.json.Decoder(dict[str, Any])
# Headers a page on another origin may read from a tile, style or PMTiles answer (a PMTiles reader checks
# the validator and the range it got back); sent by the tiles service and by the gateway.
SHARED_EXPOSED = "ETag, Content-Length, Content-Encoding, Content-Range, Accept-Ranges"
# Request headers worth relaying to the tiles service: conditional and range requests.
TILE_REQUEST_HEADERS = (
    "Accept",
    "Accept-Encoding",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "If-Range",
)


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value admits gzip (RFC 9110 §12.5.3: q=0 refuses it; `*` stands for it)."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        accepted[name.strip()] = q
    return accepted.get("gzip", accepted.get("x-gzip", accepted.get("*", 0.0))) > 0


def strong_etag(body: bytes) -> str:
    """A strong validator derived from the bytes only (equal bytes, equal tag, on every replica)."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match against our tag: weak comparison, as RFC 9110 §13.1.2 requires (`*` matches any)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


async def read_capped(
    response: aiohttp.ClientResponse, limit: int, too_large: Callable[[], Exception]
) -> bytes:
    """The whole body of an upstream answer, refused with `too_large()` as soon as it passes `limit` bytes."""
    if response.content_length is not None and response.content_length > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65_536):
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_of(header: str | None) -> int:
    """The seconds of an upstream's Retry-After (delta-seconds), else UPSTREAM_RETRY_AFTER_S."""
    return int(header) if header and header.isdigit() else UPSTREAM_RETRY_AFTER_S


def problem_fields(body: bytes) -> dict[str, Any]:
    """The members of an upstream problem+json document; {} when the body is not one."""
    try:
        return _PROBLEM.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}


class UpstreamProblem(ServiceError):
    """A 4xx problem document from an upstream service, relayed with its own status, code and members."""

    def __init__(self, status: int, body: dict[str, Any], title: str = "Requête refusée") -> None:
        self.status = status
        self.code = str(body.get("code") or "upstream_rejected")
        self.title = str(body.get("title") or title)
        extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "code", "detail")}
        super().__init__(str(body.get("detail") or self.title), **extra)
