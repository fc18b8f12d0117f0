"""HTTP handlers of the batch reports: accept a batch (its jobs queued), say where it stands, hand out a PDF.

The gateway validated the selections against its catalogue; they are checked again here with the same rules
(a report service is never trusted to its caller). Public URLs are the gateway's to write: these answers
carry none.
"""

from __future__ import annotations

import uuid

import msgspec
from aiohttp import web

from services.common.batches import read_batch
from services.common.contract import (
    STATE_LABELS,
    BatchItem,
    BatchRequest,
    BatchStatus,
    ItemProblem,
    ReportRequest,
)
from services.common.db import connection
from services.common.errors import (
    ReportFailed,
    ReportNotReady,
    ServiceError,
    UnknownBatch,
)
from services.common.validation import in_report, normalise_codes, project_name, report_date
from services.common.web import json_response

from . import batchqueries
from .jobs import TASK
from .routes import disposition
from .settings import QUEUE_POOL, SETTINGS

routes = web.RouteTableDef()
_BATCH = msgspec.json.Decoder(BatchRequest)
_PROBLEM = msgspec.json.Decoder(ItemProblem)
_ENC = msgspec.json.Encoder()


def _checked(index: int, body: ReportRequest, max_communes: int, max_name: int) -> bytes:
    try:
        codes = normalise_codes(body.communes, max_communes)
        name = project_name(body.name, max_name)
        day = report_date(body.date)
    except ServiceError as exc:
        raise in_report(index, exc) from None
    ald = list(dict.fromkeys(a.strip() for a in body.ald if a.strip()))
    return _ENC.encode(ReportRequest(communes=codes, name=name, ald=ald, date=day.isoformat()))


def _job(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["job"])
    except ValueError:
        raise UnknownBatch("aucun lot de rapports sous cet identifiant") from None


async def _status(request: web.Request, job: uuid.UUID) -> BatchStatus:
    async with (
        connection(request.app[QUEUE_POOL], request.app[SETTINGS].acquire_timeout_s) as c,
    ):
        rows = await batchqueries.status(c, job)
    if not rows:
        raise UnknownBatch("aucun lot de rapports sous cet identifiant (jamais créé, ou expiré)")
    items = [
        BatchItem(
            item=r["item"],
            state=r["state"],
            label=STATE_LABELS[r["state"]],
            name=r["name"],
            communes=r["communes"],
            attempts=r["attempts"],
            bytes=r["bytes"],
            problem=_PROBLEM.decode(r["problem"]) if r["problem"] else None,
        )
        for r in rows
    ]
    finished = sum(i.state in ("ready", "failed") for i in items)
    started = finished or any(i.state == "running" for i in items)
    return BatchStatus(
        job=str(job),
        state="done" if finished == len(items) else "running" if started else "pending",
        created_at=rows[0]["created_at"].isoformat(),
        expires_at=rows[0]["expires_at"].isoformat(),
        items=items,
        done=finished,
    )


@routes.post("/v1/reports")
async def post_reports(request: web.Request) -> web.Response:
    """Queue a batch of reports: 202 and its state (every report waiting)."""
    settings = request.app[SETTINGS]
    body = await read_batch(request, _BATCH, settings.batch_max_body_bytes, settings.max_batch)
    requests = [
        _checked(i, r, settings.max_communes, settings.max_name_length).decode()
        for i, r in enumerate(body.reports, 1)
    ]
    job = uuid.uuid4()
    async with connection(request.app[QUEUE_POOL], settings.acquire_timeout_s) as conn:
        await batchqueries.create(conn, job, requests, settings.batch_retention_h, settings.batch_queue, TASK)
    return json_response(await _status(request, job), status=202)


@routes.get("/v1/reports/{job}")
async def get_batch(request: web.Request) -> web.Response:
    """Where a batch stands: every report's state, size once made, problem when failed."""
    return json_response(await _status(request, _job(request)), headers={"Cache-Control": "no-store"})


@routes.get(r"/v1/reports/{job}/{item:\d{1,4}}.pdf")
async def get_batch_pdf(request: web.Request) -> web.Response:
    """The PDF of one report of a batch, once made (ETag: a second download costs a 304)."""
    job, item = _job(request), int(request.match_info["item"])
    asked = request.headers.get("If-None-Match")
    settings = request.app[SETTINGS]
    async with connection(request.app[QUEUE_POOL], settings.acquire_timeout_s) as conn:
        row = await batchqueries.pdf(conn, job, item, body=asked is None)
        if row is not None and asked is not None and row["etag"] is not None and row["etag"] not in asked:
            row = await batchqueries.pdf(conn, job, item, body=True)
    if row is None:
        raise UnknownBatch(f"aucun rapport n° {item} dans ce lot (jamais créé, ou expiré)")
    if row["state"] == "failed":
        raise ReportFailed(
            f"le rapport n° {item} n'a pas pu être fait", problem=msgspec.json.decode(row["problem"])
        )
    if row["state"] != "ready":
        raise ReportNotReady(f"le rapport n° {item} est {STATE_LABELS[row['state']]}", retry_after=2)
    headers = {
        "ETag": row["etag"],
        "Cache-Control": "private, max-age=3600",
        "X-Data-Version": row["data_version"],
        "Content-Disposition": disposition(row["name"], f"Projet_CPTS_{item}", "pdf"),
    }
    if asked is not None and row["pdf"] is None:
        return web.Response(status=304, headers=headers)
    return web.Response(body=row["pdf"], content_type="application/pdf", headers=headers)
