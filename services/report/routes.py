"""HTTP handlers: parse and validate, call one orchestration or query function, answer."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from urllib.parse import quote

import msgspec
from aiohttp import web
from prometheus_client import Histogram

from services.common.contract import ExportRequest, ProjectRequest, ReportRequest
from services.common.db import POOL, connection
from services.common.errors import Unprocessable
from services.common.validation import normalise_codes, project_name, report_date
from services.common.web import json_response, parse_body, read_body_upto

from . import csvexport, project, queries
from .document import StepTimer, report_pdf
from .render import Renderer
from .settings import SETTINGS
from .upstream import AggregateClient

AGGREGATE = web.AppKey("aggregate", AggregateClient)
RENDERER = web.AppKey("renderer", Renderer)
STEPS = web.AppKey("steps", Histogram)

_REPORT = msgspec.json.Decoder(ReportRequest)
_EXPORT = msgspec.json.Decoder(ExportRequest)
_PROJECT = msgspec.json.Decoder(ProjectRequest)

routes = web.RouteTableDef()
log = logging.getLogger("rezone.report")


class UnknownCommune(Unprocessable):
    """Codes that are not selectable communes of the current reference."""

    code, title = "unknown_commune", "Commune inconnue"


def _filename(name: str | None, default: str, ext: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_")[:60]
    return f"{slug or default}.{ext}"


def disposition(name: str | None, default: str, ext: str) -> str:
    """Content-Disposition of a download: an ASCII file name from the project name (RFC 6266)."""
    plain = _filename(name, default, ext)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(plain)}"


@routes.post("/v1/report.pdf")
async def post_report(request: web.Request) -> web.Response:
    """The PDF report of a selection."""
    settings = request.app[SETTINGS]
    body: ReportRequest = await parse_body(request, _REPORT)
    codes = normalise_codes(body.communes, settings.max_communes)
    name = project_name(body.name, settings.max_name_length)
    date = report_date(body.date)
    ald = list(dict.fromkeys(a.strip() for a in body.ald if a.strip()))
    timer = StepTimer(request.app[STEPS])
    pdf, diagnosis = await report_pdf(
        aggregate=request.app[AGGREGATE],
        pool=request.app[POOL],
        renderer=request.app[RENDERER],
        codes=codes,
        ald=ald,
        name=name,
        date=date,
        timer=timer,
        acquire_timeout_s=settings.acquire_timeout_s,
    )
    log.info(
        "report rendered",
        extra={
            "communes": len(codes),
            "bytes": len(pdf),
            "steps_ms": {k: round(v * 1000, 1) for k, v in timer.steps.items()},
        },
    )
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": disposition(name, "Projet_CPTS", "pdf"),
            "ETag": '"' + hashlib.sha256(pdf).hexdigest()[:32] + '"',
            "X-Data-Version": diagnosis.data_version,
            "Server-Timing": timer.header(),
            "Cache-Control": "private, max-age=0",
        },
    )


@routes.post("/v1/export.csv")
async def post_export(request: web.Request) -> web.Response:
    """The selected communes and their characteristics as a CSV for French spreadsheets."""
    settings = request.app[SETTINGS]
    body: ExportRequest = await parse_body(request, _EXPORT)
    codes = normalise_codes(body.communes, settings.max_communes)
    diagnosis = await request.app[AGGREGATE].diagnosis(codes, [])
    data = csvexport.export(diagnosis, exported_on=report_date(None))
    return web.Response(
        body=data,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "X-Data-Version": diagnosis.data_version,
            "Content-Disposition": disposition(None, "communes_projet_CPTS", "csv"),
        },
    )


@routes.post("/v1/project")
async def post_project(request: web.Request) -> web.Response:
    """The project file of a selection (restorable with /v1/project/import)."""
    settings = request.app[SETTINGS]
    body: ProjectRequest = await parse_body(request, _PROJECT)
    codes = normalise_codes(body.communes, settings.max_communes)
    name = project_name(body.name, settings.max_name_length)
    created_on = report_date(body.date)
    async with connection(request.app[POOL], settings.acquire_timeout_s) as conn:
        status = await queries.communes_status(conn, codes)
        version = await queries.data_version(conn)
    bad = [c for c in codes if c not in status or not status[c].selectable]
    if bad:
        raise UnknownCommune(f"{len(bad)} code(s) ne désignent pas une commune sélectionnable", offenders=bad)
    text = project.write(
        codes, {c: s.nom for c, s in status.items()}, name=name, created_on=created_on, data_version=version
    )
    return web.Response(
        text=text,
        content_type="text/plain",
        charset="utf-8",
        headers={"Content-Disposition": disposition(name, "projet_CPTS", "txt"), "X-Data-Version": version},
    )


@routes.post("/v1/project/import")
async def post_project_import(request: web.Request) -> web.Response:
    """The selection restored from a project file (raw body), with what could not be restored and why."""
    settings = request.app[SETTINGS]
    limit = settings.project_max_bytes
    too_large = project.ProjectFileTooLarge(f"un fichier de projet fait au plus {limit} octets", limit=limit)
    raw = await read_body_upto(request, limit, too_large)
    parsed = project.parse(raw, max_bytes=limit, max_communes=settings.max_communes)
    async with connection(request.app[POOL], settings.acquire_timeout_s) as conn:
        status = await queries.communes_status(conn, [code for code, _ in parsed.entries])
        merged = await queries.successors(conn, [code for code, _ in parsed.entries if code not in status])
        version = await queries.data_version(conn)
    return json_response(project.resolve(parsed, status, version, merged))
