"""The body of a batch of reports, read and decoded alike by the gateway (POST /api/v1/reports) and the report
service (POST /v1/reports): the same byte limit refusal, the same decoding errors, the same size rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import msgspec
from aiohttp import web

from .errors import BadRequest, PayloadTooLarge
from .validation import batch_size
from .web import read_body_upto


class _Batch(Protocol):
    @property
    def reports(self) -> Sequence[object]: ...


B = TypeVar("B", bound=_Batch)


async def read_batch(
    request: web.Request,
    decoder: msgspec.json.Decoder[B],
    limit: int,
    max_batch: int,
    invalid: type[BadRequest] = BadRequest,
) -> B:
    """The batch of at most `limit` bytes and 1 to `max_batch` reports; `invalid` is the error class of a body
    that does not decode (the gateway's names the parameter family, the report service's is plain)."""
    raw = await read_body_upto(
        request, limit, PayloadTooLarge(f"un lot fait au plus {limit // 1024} Kio", limit=limit)
    )
    try:
        body = decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise invalid(f"corps de requête invalide : {exc}") from exc
    batch_size(len(body.reports), max_batch)
    return body
