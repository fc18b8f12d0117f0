"""Batch reports for regional tools: `POST /api/v1/reports` queues up to `max_batch` reports (202 and a job
URL), `GET /api/v1/reports/{job}` says where each stands, `GET /api/v1/reports/{job}/{item}.pdf` hands
one out once made.

Every selection is validated here against the catalogue, as for the synchronous route, and the report body is
built by that route's relay (gateway/relays.py), so that a batch report and a synchronous one of the same
selection print the same thing. The queue itself is the report service's (services/report/jobs.py); the URLs
in the answers are built from the configured public origin, never from the request.
"""

from __future__ import annotations

import re

import msgspec
from aiohttp import web

from services.common.batches import read_batch
from services.common.contract import (
    BatchItem,
    BatchRequest,
    BatchStatus,
)
from services.common.errors import ReportFailed, ReportNotReady, ServiceError, UnknownBatch
from services.common.validation import (
    EmptyBatch,
    TooManyReports,
    in_report,
    project_name,
    report_date,
)
from services.common.web import JSON, require_json

from . import docparts
from .answers import checked_query
from .apitable import API, Answer, Body, Doc, Fails, Param
from .catalogue import CATALOGUE
from .errors import InvalidParameter
from .normalise import normalise, normalise_ald
from .relays import RELAY, Ask
from .schemas import BatchBody
from .settings import SETTINGS, Settings
from .upstream import UPSTREAMS

_BODY = msgspec.json.Decoder(BatchBody)
_STATUS = msgspec.json.Decoder(BatchStatus)
_ENC = msgspec.json.Encoder()
_JOB = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_EXAMPLE_JOB = "3f0c2a6e-8d1b-4c9a-9a57-2b8e0f6d4c11"
PDF_PATH = "/api/v1/reports/{job}/{item}.pdf"


def batch_url(settings: Settings, job: str) -> str:
    """The public URL of a batch's state."""
    return f"{settings.public_url.rstrip('/')}/api/v1/reports/{job}"


def _public(settings: Settings, status: BatchStatus) -> BatchStatus:
    """The report service's answer with the public URLs: the batch's, and each PDF's once made."""
    base = batch_url(settings, status.job)
    items = [
        msgspec.structs.replace(i, url=f"{base}/{i.item}.pdf") if i.state == "ready" else i
        for i in status.items
    ]
    return msgspec.structs.replace(status, url=base, items=items)


def _example(settings: Settings, ready: bool = False) -> BatchStatus:
    items = [
        BatchItem(
            item=1,
            state="ready",
            label="prêt",
            name="CPTS du Val de Saône",
            communes=2,
            attempts=1,
            bytes=612_345,
        )
        if ready
        else BatchItem(item=1, state="pending", label="en attente", name="CPTS du Val de Saône", communes=2),
        BatchItem(
            item=2,
            state="running" if ready else "pending",
            label="en cours" if ready else "en attente",
            name=None,
            communes=3,
            attempts=1 if ready else 0,
        ),
    ]
    status = BatchStatus(
        job=_EXAMPLE_JOB,
        state="running" if ready else "pending",
        created_at="2026-12-02T17:00:00.000000+00:00",
        expires_at="2026-12-03T17:00:00.000000+00:00",
        items=items,
        done=1 if ready else 0,
    )
    return _public(settings, status)


_JOB_PARAM = Param(
    "job",
    {"type": "string", "format": "uuid", "pattern": _JOB.pattern},
    "Identifiant du lot (dans l'URL rendue par `POST /api/v1/reports`).",
    where="path",
    example=_EXAMPLE_JOB,
)
_UNKNOWN = Fails(
    UnknownBatch, "jamais créé, ou expiré (un lot et ses PDF sont effacés après 24 h par défaut)"
)


def _job(request: web.Request) -> str:
    job = request.match_info["job"].lower()
    if not _JOB.fullmatch(job):
        raise UnknownBatch("aucun lot de rapports sous cet identifiant")
    return job


async def _validated(request: web.Request, body: BatchBody) -> BatchRequest:
    settings = request.app[SETTINGS]
    catalogue = request.app[CATALOGUE].get()
    relay, day = RELAY["report.pdf"], report_date(None)
    reports = []
    for index, selection in enumerate(body.reports, 1):
        try:
            ask = Ask(
                codes=normalise(selection.communes, catalogue, settings.max_communes),
                ald=normalise_ald(selection.ald, catalogue),
                name=project_name(selection.name, settings.max_name_length),
                day=day,
            )
        except ServiceError as exc:
            raise in_report(index, exc) from None
        _, payload = relay.call(catalogue.version, ask)
        reports.append(payload)
    return BatchRequest(reports=reports)  # type: ignore[arg-type]


BATCH_PATH = "/api/v1/reports"


@API.post(
    BATCH_PATH,
    Doc(
        operation_id="createReportBatch",
        summary="Rapports PDF en lot : mis en file d'attente, faits en arrière-plan",
        description=lambda s: (
            f"De 1 à {s.max_batch} rapports, chacun décrit comme pour `POST /api/v1/report.pdf` (communes, "
            "nom du projet, ALD ciblées). Répond 202 tout de suite, avec l'URL du lot (`Location`) ; la file "
            "d'attente est dans PostgreSQL, partagée par toutes les instances, et survit à leur redémarrage. "
            "Relever l'état du lot, puis télécharger chaque PDF prêt. Un lot invalide est refusé en entier "
            "(`report` : le numéro du rapport fautif) : rien n'est mis en file."
        ),
        tag="lots",
        answer=Answer(
            "Lot accepté : chaque rapport en attente",
            struct=BatchStatus,
            cached=False,
            status=202,
            headers={
                "Location": {"schema": {"type": "string", "format": "uri"}, "description": "l'URL du lot"}
            },
            example=_example,
        ),
        body=Body(
            BatchBody,
            example={
                "reports": [
                    {"communes": ["01004", "01007"], "name": "CPTS du Val de Saône"},
                    {"communes": ["93066", "93070", "93071"], "ald": ["ald_08"]},
                ]
            },
        ),
        fails=(
            Fails(EmptyBatch),
            Fails(TooManyReports, lambda s: f"plus de {s.max_batch} rapports ; avec `limit` et `count`"),
            Fails(InvalidParameter, "corps invalide"),
            *docparts.SELECTION,
            *docparts.UPSTREAM,
        ),
    ),
)
async def create_batch(request: web.Request) -> web.Response:
    """Validate every selection, queue the batch in the report service, answer 202 and where to poll."""
    checked_query(request, ())
    settings = request.app[SETTINGS]
    require_json(request)
    body = await read_batch(
        request, _BODY, settings.batch_max_body_bytes, settings.max_batch, InvalidParameter
    )
    validated = await _validated(request, body)
    entry = await request.app[UPSTREAMS]["report"].post_json(
        "/v1/reports", validated, settings.report_timeout_s
    )
    status = _public(settings, _STATUS.decode(entry.body))
    assert status.url is not None
    return web.Response(
        status=202,
        body=_ENC.encode(status),
        content_type=JSON,
        headers={"Location": status.url, "Cache-Control": "no-store"},
    )


@API.get(
    "/api/v1/reports/{job}",
    Doc(
        operation_id="getReportBatch",
        summary="État d'un lot de rapports : chaque rapport en attente, en cours, prêt ou en échec",
        description=(
            "`state` de chaque rapport : `pending` (en attente), `running` (en cours), `ready` (prêt : `url` "
            "du PDF), `failed` (échec : `problem`, le document d'erreur qu'aurait rendu la route synchrone). "
            "Le lot est `done` quand tous sont prêts ou en échec. Relever toutes les quelques secondes."
        ),
        tag="lots",
        answer=Answer(
            "Où en est le lot", struct=BatchStatus, cached=False, example=lambda s: _example(s, True)
        ),
        params=(_JOB_PARAM,),
        fails=(_UNKNOWN, docparts.UNKNOWN_PARAMETER, *docparts.UPSTREAM),
    ),
)
async def get_batch(request: web.Request) -> web.Response:
    """Where a batch stands, with the public URL of every PDF made."""
    checked_query(request, ())
    settings = request.app[SETTINGS]
    entry = await request.app[UPSTREAMS]["report"].get(
        f"/v1/reports/{_job(request)}", settings.report_timeout_s
    )
    status = _public(settings, _STATUS.decode(entry.body))
    return web.Response(body=_ENC.encode(status), content_type=JSON, headers={"Cache-Control": "no-store"})


@API.get(
    PDF_PATH,
    Doc(
        operation_id="getBatchReportPdf",
        summary="Le PDF d'un rapport du lot, une fois prêt",
        description=(
            "409 `report_not_ready` (avec Retry-After) tant qu'il n'est pas fait, 409 `report_failed` (avec "
            "`problem`) s'il n'a pas pu l'être. ETag fort : un second téléchargement coûte un 304."
        ),
        tag="lots",
        answer=Answer(
            "Rapport PDF",
            "application/pdf",
            schema={"type": "string", "format": "binary"},
            headers={"Content-Disposition": {"schema": {"type": "string"}, "description": "nom du fichier"}},
        ),
        params=(
            _JOB_PARAM,
            Param(
                "item",
                {"type": "integer", "minimum": 1},
                "Numéro du rapport dans le lot (1, 2…).",
                where="path",
                example=1,
            ),
        ),
        fails=(
            _UNKNOWN,
            Fails(ReportNotReady, "réessayer après Retry-After", retry=True),
            Fails(ReportFailed, "avec `problem`"),
            docparts.UNKNOWN_PARAMETER,
            *docparts.UPSTREAM,
        ),
    ),
)
async def get_batch_pdf(request: web.Request) -> web.StreamResponse:
    """One PDF of a batch, relayed as the report service answers it (304, 409 and 404 included)."""
    checked_query(request, ())
    job, item = _job(request), request.match_info["item"]
    if not item.isdigit() or not 1 <= int(item) <= 9999:
        raise UnknownBatch(f"aucun rapport n° {item[:8]} dans ce lot")
    path = f"/v1/reports/{job}/{int(item)}.pdf"
    return await request.app[UPSTREAMS]["report"].proxy(
        request, request.app[SETTINGS].report_timeout_s, path=path
    )
