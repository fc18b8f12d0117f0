"""Report service settings: environment `REZONE_REPORT_*` (and `DATABASE_URL`), and its application key."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from services.common.settings import ServiceSettings
from services.common.validation import MAX_BATCH, MAX_COMMUNES, MAX_NAME_LENGTH

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

    # Batch reports (POST /v1/reports, services/report/jobs.py). The queue and the batches are written, so
    # they need the primary: empty means DATABASE_URL (the local stack); production names the primary
    # (deploy/base/config/report.env), while the maps' reads stay on the read-only pooler.
    queue_database_url: str = ""
    # Connections of the queue per replica, in each of its two pools (procrastinate's psycopg pool: fetch,
    # heartbeat, maintenance; the asyncpg pool of the batch routes and the PDFs), plus one LISTEN connection.
    queue_pool_max: int = 3
    max_batch: int = MAX_BATCH
    # A batch body: up to max_batch selections of max_communes codes and a name each.
    batch_max_body_bytes: int = 512 * 1024
    # The procrastinate queue the replicas share: another deployment on the same database (a staging beside
    # production, a test's own stack) names another, and its workers never take this one's reports.
    batch_queue: str = "reports"
    # Reports made at once by this replica's worker (0: no worker here, the routes only). One leaves the
    # other compile slots to the synchronous route of the web page.
    batch_concurrency: int = 1
    # Retries of a report whose service or dependency was away (503, timeout, a worker gone), then `échec`.
    batch_retries: int = 4
    # Hours a batch and its PDFs are kept, then deleted (the poller gets 404).
    batch_retention_h: float = 24.0
    # A worker beats every heartbeat_s; one silent for stalled_after_s is dead and its job is run again.
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    # Without a NOTIFY (a lost LISTEN connection) the worker still looks for jobs every poll_s.
    poll_s: float = 5.0
    # Stalled jobs, expired batches and the queue gauges are looked at every maintenance_s.
    maintenance_s: float = 5.0
    # On SIGTERM the running report gets this long (within shutdown_timeout_s), then is aborted and retried.
    batch_shutdown_s: float = 40.0

    @property
    def queue_url(self) -> str:
        """Where the queue and the batches live (the primary)."""
        return self.queue_database_url or self.database_url


SETTINGS = web.AppKey("settings", Settings)
# The read-write pool of the batch routes and the worker (queue_url).
QUEUE_POOL = web.AppKey("queue_pool", asyncpg.Pool)
