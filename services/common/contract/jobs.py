"""Bodies of the batch reports (`POST /api/v1/reports`): the gateway → report call and the status of a batch,
shared by the gateway, the report service and its queue worker (the public request is gateway/schemas.py
`BatchBody`).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from services.common.contract.requests import ReportRequest

# State of one report of a batch: the code a program tests, and the word a person reads.
ItemState = Literal["pending", "running", "ready", "failed"]
STATE_LABELS: dict[str, str] = {
    "pending": "en attente",
    "running": "en cours",
    "ready": "prêt",
    "failed": "échec",
}
# A batch is `done` when every report is ready or failed.
BatchState = Literal["pending", "running", "done"]


class BatchRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Gateway → report `POST /v1/reports`: the validated reports, each with its printed date."""

    reports: list[ReportRequest]


class ItemProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why a report of a batch failed: the problem+json the synchronous route would have answered."""

    status: int
    code: str
    title: str
    detail: str


class BatchItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One report of a batch, as the poller sees it."""

    item: int
    state: ItemState
    label: str  # the state in French (STATE_LABELS)
    name: str | None
    communes: int
    attempts: int = 0
    url: str | None = None  # the PDF, once ready (the gateway writes its public URL)
    bytes: int | None = None
    problem: ItemProblem | None = None


class BatchStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`GET /api/v1/reports/{job}` (and the 202 of the POST): every report's state."""

    job: str
    state: BatchState
    created_at: str
    expires_at: str  # after this the batch and its PDFs are deleted (404)
    items: list[BatchItem]
    url: str | None = None  # this document (the gateway writes its public URL)
    done: int = 0  # reports ready or failed
