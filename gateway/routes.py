"""Thin handlers: parse and validate, then the catalogue, the database, the cache or an upstream."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from aiohttp import web

from services.common.contract import DiagnosisRequest, SummaryRequest
from services.common.db import POOL, db_errors
from services.common.logs import request_id_var
from services.common.web import JSON, REQUEST_ID_HEADER

from . import queries
from .cache import CACHE, SEARCH_CACHE, Entry, make_entry
from .catalogue import CATALOGUE
from .errors import CommuneNotFound, InvalidCommuneCode, InvalidParameter, UnknownParameter
from .schemas import DiagnosisBody, Limits, Meta, ReportBody, ReportPdfBody, SearchResult, SelectionBody
from .selection import INSEE, cache_key, normalise, normalise_ald, split_codes
from .settings import SETTINGS
from .tilecache import TILE_CACHE, cacheable, replay, tile_key
from .upstream import UPSTREAMS

routes = web.RouteTableDef()
_ENC = msgspec.json.Encoder()
_DIAGNOSIS = msgspec.json.Decoder(DiagnosisBody)
_SELECTION = msgspec.json.Decoder(SelectionBody)
_REPORT = msgspec.json.Decoder(ReportBody)
_REPORT_PDF = msgspec.json.Decoder(ReportPdfBody)
SEARCH_LIMIT_MAX = 50
PARIS = ZoneInfo("Europe/Paris")


def _query(request: web.Request, allowed: Iterable[str]) -> web.Request:
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        raise UnknownParameter(f"paramètre(s) inconnu(s) : {', '.join(unknown)}", parameters=unknown)
    return request


async def _body(request: web.Request, decoder: msgspec.json.Decoder[Any]) -> Any:
    _query(request, ())
    try:
        return decoder.decode(await request.read())
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidParameter(f"corps de requête invalide : {exc}") from exc


def _conditional(
    request: web.Request,
    body: bytes,
    content_type: str,
    etag: str | None = None,
    extra: dict[str, str] | None = None,
    gzipped: bytes = b"",
) -> web.Response:
    """200 with ETag and Cache-Control (gzip variant when the client takes it), or 304 when it has it."""
    etag = etag or '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"Cache-Control": request.app[SETTINGS].cache_control, **(extra or {})}
    if gzipped:
        headers["Vary"] = "Accept-Encoding"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            # A strong validator names one representation: the compressed one gets its own.
            etag, body = etag[:-1] + '-gz"', gzipped
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    match = request.headers.get("If-None-Match")
    if match is not None and (match.strip() == "*" or etag in (t.strip() for t in match.split(","))):
        headers.pop("Content-Encoding", None)
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)


def _name(raw: str | None, limit: int) -> str | None:
    if raw is not None and (len(raw) > limit or "\x00" in raw):
        raise InvalidParameter(f"nom de projet limité à {limit} caractères, sans caractère nul")
    return raw.strip() if raw is not None and raw.strip() else None


async def _through_cache(
    request: web.Request,
    endpoint: str,
    upstream: str,
    path: str,
    timeout_s: float,
    raw_codes: Iterable[str],
    *,
    ald: Iterable[str] | None = None,
    name: str | None = None,
) -> web.Response:
    """Validate, key, and answer from the cache or one (coalesced) upstream call."""
    settings = request.app[SETTINGS]
    catalogue = request.app[CATALOGUE].get()
    codes = normalise(raw_codes, catalogue, settings.max_communes)
    ald_ids = normalise_ald(ald, catalogue)
    extra: list[str] = []
    payload: Any
    if endpoint == "diagnosis":
        payload = DiagnosisRequest(communes=list(codes), ald=list(ald_ids or ()))
        extra.append("ald=" + ",".join(ald_ids or ()))
    elif endpoint == "summary":
        payload = SummaryRequest(communes=list(codes))
    else:  # report service: the printed date is fixed here, so the key says all the bytes depend on
        today = dt.datetime.now(PARIS).date().isoformat()
        payload = {"communes": list(codes)}
        extra.append("day=" + today)
        if endpoint != "export.csv":
            payload["date"] = today
        if name is not None:
            payload["name"] = name
            extra.append("name=" + name)
        if endpoint == "report.pdf" and ald_ids:
            # The targeted ALD get their own table in the report (validated as for the diagnosis).
            payload["ald"] = list(ald_ids)
            extra.append("ald=" + ",".join(ald_ids))
    key = cache_key(catalogue.version, endpoint, codes, *extra)
    client = request.app[UPSTREAMS][upstream]
    entry, how = await request.app[CACHE].get_or_fetch(
        endpoint, key, lambda: client.post_json(path, payload, timeout_s)
    )
    return _entry_response(request, entry, how)


def _entry_response(request: web.Request, entry: Entry, how: str) -> web.Response:
    extra = {"X-Cache": how}
    if entry.disposition:
        extra["Content-Disposition"] = entry.disposition
    return _conditional(request, entry.body, entry.content_type, entry.etag, extra, entry.gzipped)


@routes.get("/api/v1/meta")
async def meta(request: web.Request) -> web.Response:
    """What a page shows before any selection: demo flag, data vintages, limits (from the catalogue)."""
    _query(request, ())
    catalogue = request.app[CATALOGUE].get()
    body = Meta(
        data_version=catalogue.version,
        demo=catalogue.demo,
        sources=catalogue.sources,
        limits=Limits(max_communes=request.app[SETTINGS].max_communes),
    )
    return _conditional(request, _ENC.encode(body), JSON)


@routes.get("/api/v1/communes")
async def search_communes(request: web.Request) -> web.Response:
    """Search by name or code prefix, accent- and case-insensitive."""
    _query(request, ("q", "limit"))
    text = request.query.get("q", "")
    if not text.strip() or len(text) > 100 or "\x00" in text:  # PostgreSQL text cannot hold NUL
        raise InvalidParameter("`q` est requis (1 à 100 caractères, sans caractère nul)")
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        raise InvalidParameter("`limit` doit être un entier") from None
    if not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise InvalidParameter(f"`limit` doit être entre 1 et {SEARCH_LIMIT_MAX}")
    catalogue = request.app[CATALOGUE].get()
    # Typeahead sends the same prefixes again and again ("sai", "sain", "saint"…): answers are kept per data
    # version, since a short prefix makes PostgreSQL visit thousands of rows to rank them by population.
    key = f"{catalogue.version}|{text.strip().lower()}|{limit}"
    cache = request.app[SEARCH_CACHE]
    found = cache.get(key)
    if found is not None and found[1]:
        entry, how = found[0], "HIT"
    else:
        async with (
            db_errors(),
            request.app[POOL].acquire(timeout=request.app[SETTINGS].acquire_timeout_s) as conn,
        ):
            hits = await queries.search(conn, text, limit, catalogue.plm)
        entry, how = make_entry(_ENC.encode(SearchResult(text.strip(), hits)), JSON), "MISS"
        cache.put(key, entry)
    request.app[CACHE].count("search", how.lower())
    return _entry_response(request, entry, how)


@routes.get("/api/v1/communes/{code}")
async def get_commune(request: web.Request) -> web.Response:
    """One commune or PLM arrondissement."""
    _query(request, ())
    raw = request.match_info["code"]
    code = raw.strip().upper()
    if not INSEE.fullmatch(code):
        raise InvalidCommuneCode("code commune mal formé", offenders=[raw], count=1)
    catalogue = request.app[CATALOGUE].get()
    if code not in catalogue.known:
        raise CommuneNotFound(f"aucune commune {code} dans le code officiel géographique", unknown=[code])
    async with (
        db_errors(),
        request.app[POOL].acquire(timeout=request.app[SETTINGS].acquire_timeout_s) as conn,
    ):
        found = await queries.commune(conn, code, catalogue.plm)
    if found is None:  # reloaded between the catalogue check and the query
        raise CommuneNotFound(f"aucune commune {code}", unknown=[code])
    return _conditional(request, _ENC.encode(found), JSON)


@routes.get("/api/v1/territory")
async def territory_get(request: web.Request) -> web.Response:
    """Diagnosis of a selection given in the query string."""
    _query(request, ("communes", "ald"))
    ald = split_codes(request.query.getall("ald")) if "ald" in request.query else None
    return await _through_cache(
        request,
        "diagnosis",
        "aggregate",
        "/v1/diagnosis",
        request.app[SETTINGS].diagnosis_timeout_s,
        split_codes(request.query.getall("communes", [])),
        ald=ald,
    )


@routes.post("/api/v1/territory")
async def territory_post(request: web.Request) -> web.Response:
    """Diagnosis of a selection given as a JSON body."""
    body = await _body(request, _DIAGNOSIS)
    return await _through_cache(
        request,
        "diagnosis",
        "aggregate",
        "/v1/diagnosis",
        request.app[SETTINGS].diagnosis_timeout_s,
        body.communes,
        ald=body.ald,
    )


@routes.get("/api/v1/territory/summary")
async def summary_get(request: web.Request) -> web.Response:
    """Header-bar figures of a selection given in the query string."""
    _query(request, ("communes",))
    return await _through_cache(
        request,
        "summary",
        "aggregate",
        "/v1/summary",
        request.app[SETTINGS].diagnosis_timeout_s,
        split_codes(request.query.getall("communes", [])),
    )


@routes.post("/api/v1/territory/summary")
async def summary_post(request: web.Request) -> web.Response:
    """Header-bar figures of a selection given as a JSON body."""
    body = await _body(request, _SELECTION)
    return await _through_cache(
        request,
        "summary",
        "aggregate",
        "/v1/summary",
        request.app[SETTINGS].diagnosis_timeout_s,
        body.communes,
    )


def _report_route(endpoint: str, path: str, *, named: bool) -> tuple[Any, ...]:
    # Only the PDF prints ALD prevalences: the CSV and the project file do not take `ald`.
    targeted = endpoint == "report.pdf"

    async def from_query(request: web.Request) -> web.Response:
        allowed = (
            ("communes", "name", "ald") if targeted else ("communes", "name") if named else ("communes",)
        )
        _query(request, allowed)
        settings = request.app[SETTINGS]
        name = _name(request.query.get("name"), settings.max_name_length) if named else None
        ald = split_codes(request.query.getall("ald")) if targeted and "ald" in request.query else None
        return await _through_cache(
            request,
            endpoint,
            "report",
            path,
            settings.report_timeout_s,
            split_codes(request.query.getall("communes", [])),
            name=name,
            ald=ald,
        )

    async def from_body(request: web.Request) -> web.Response:
        settings = request.app[SETTINGS]
        body = await _body(request, _REPORT_PDF if targeted else _REPORT if named else _SELECTION)
        name = _name(body.name, settings.max_name_length) if named else None
        ald = body.ald if isinstance(body, ReportPdfBody) else None
        return await _through_cache(
            request, endpoint, "report", path, settings.report_timeout_s, body.communes, name=name, ald=ald
        )

    from_query.__doc__ = f"{endpoint} of a selection given in the query string."
    from_body.__doc__ = f"{endpoint} of a selection given as a JSON body."
    return from_query, from_body


for _endpoint, _path, _named in (
    ("report.pdf", "/v1/report.pdf", True),
    ("export.csv", "/v1/export.csv", False),
    ("project", "/v1/project", True),
):
    _get, _post = _report_route(_endpoint, _path, named=_named)
    routes.get(f"/api/v1/{_endpoint}")(_get)
    routes.post(f"/api/v1/{_endpoint}")(_post)


@routes.post("/api/v1/project/import")
async def project_import(request: web.Request) -> web.Response:
    """Upload a project file; the report service parses it and returns the validated selection."""
    _query(request, ())
    body = await request.read()
    if not body.strip():
        raise InvalidParameter("fichier projet vide")
    headers = {
        "Content-Type": request.headers.get("Content-Type", "application/octet-stream"),
        "Accept-Encoding": "identity",
    }
    headers[REQUEST_ID_HEADER] = request_id_var.get()
    entry = await request.app[UPSTREAMS]["report"].post_bytes(
        "/v1/project/import", body, headers, request.app[SETTINGS].report_timeout_s
    )
    return web.Response(
        body=entry.body, headers={"Content-Type": entry.content_type, "Cache-Control": "no-store"}
    )


async def proxy_tiles(request: web.Request) -> web.StreamResponse:
    """Tiles, TileJSON and the style from the tiles service; versioned tiles from memory when already seen."""
    cache = request.app[TILE_CACHE]
    key = tile_key(request)
    found = cache.get(key) if request.method == "GET" else None
    if found is not None and found[1]:
        request.app[CACHE].count("tiles", "hit")
        return replay(request, found[0])

    def keep(status: int, headers: Mapping[str, str], body: bytes) -> None:
        entry = cacheable(status, headers, body)
        if entry is not None:
            cache.put(key, entry)
            request.app[CACHE].count("tiles", "miss")

    return await request.app[UPSTREAMS]["tiles"].proxy(request, request.app[SETTINGS].tiles_timeout_s, keep)
