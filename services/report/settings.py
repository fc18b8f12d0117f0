"""Report service settings: environment `REZONE_REPORT_*` (and `DATABASE_URL`), and its application key."""

from __future__ import annotations

from aiohttp import web

from services.common.settings import ServiceSettings
from services.common.validation import MAX_COMMUNES, MAX_NAME_LENGTH

PREFIX = "REZONE_REPORT_"


class Settings(ServiceSettings, frozen=True, kw_only=True):
    """Environment `REZONE_REPORT_*` (and `DATABASE_URL`)."""

    port: int = 8083
    aggregate_url: str = "http://127.0.0.1:8082"
    aggregate_timeout_s: float = 10.0
    aggregate_connect_timeout_s: float = 2.0
    # A 100-commune diagnosis is about 200 KB of JSON; anything near this cap is not a diagnosis.
    aggregate_max_bytes: int = 8 << 20
    # Geometry and COG lookups only read public reference tables: no role switch is needed, one may be set.
    db_role: str | None = None
    max_communes: int = MAX_COMMUNES
    max_name_length: int = MAX_NAME_LENGTH
    # 100 codes, a name and ALD ids fit in a few KiB; 64 KiB leaves room for padding.
    client_max_size: int = 65_536
    project_max_bytes: int = 65_536
    # Compiles run in threads: as many as cores, a short queue, then 503 + Retry-After.
    max_parallel_renders: int = 2
    max_queued_renders: int = 4
    render_timeout_s: float = 20.0
    # PDF/UA-1: tagged PDF (structure and reading order for screen readers, language, title). An empty value
    # writes an untagged PDF (an operator's fallback, not the default: see docs/report.md).
    pdf_standard: str = "ua-1"
    shutdown_timeout_s: float = 60.0


SETTINGS = web.AppKey("settings", Settings)
