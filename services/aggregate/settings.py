"""Aggregate settings: environment `REZONE_AGGREGATE_*` (and `DATABASE_URL`), and its application key."""

from __future__ import annotations

from aiohttp import web

from ..common.settings import ServiceSettings
from ..common.validation import MAX_COMMUNES

PREFIX = "REZONE_AGGREGATE_"


class Settings(ServiceSettings, frozen=True, kw_only=True):
    """Everything the aggregate service can be told; defaults suit the local stack."""

    port: int = 8082
    # The session role: it may execute the api entry points only, and read no raw data.
    db_role: str = "rezone_reader"
    # A diagnosis holds three connections at once (its parts run in parallel); idle ones keep warm plans.
    pool_min: int = 3
    pool_max: int = 9
    statement_timeout_s: float = 10.0
    max_communes: int = MAX_COMMUNES
    # In-flight cap = pool_max × (1 + queue_factor) connections (a diagnosis holds 3, a summary 1);
    # beyond it 503 + Retry-After at once.
    queue_factor: int = 2
    # 100 codes with ALD ids fit in ~2 KiB; anything much larger is not a selection.
    client_max_size: int = 16384


SETTINGS = web.AppKey("settings", Settings)
