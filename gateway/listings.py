"""What regional tools list: the existing CPTS, and the communes of a département, a région or an EPCI.

Pages are keyset pages in a stable order (CPTS by id, communes by code): the cursor is the last key of the
page, opaque to clients (base64url), so a page never shifts when a reload adds or removes a row before it.
The next page is named twice — `next_cursor` in the body, `Link: <…>; rel="next"` (RFC 8288) in the headers —
with absolute URLs on the configured public origin, never the request's Host. A page is a function of the
data version and the canonical parameters: it is kept per version in its own LRU and answered with a strong
ETag (304 on If-None-Match).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from services.common.cache import ByteLRU
from services.common.db import POOL, connection
from services.common.validation import (
    DEPARTEMENT_FORM,
    DEPARTEMENT_PATTERN,
    EPCI_FORM,
    REGION_FORM,
)
from services.common.web import JSON

from . import docparts, queries
from .answers import checked_query, entry_response
from .apitable import API, Answer, Doc, Fails, Param
from .cache import CACHE, Entry, make_entry
from .catalogue import CATALOGUE
from .errors import InvalidCursor, InvalidParameter, InvalidTerritoryCode, UnknownTerritory
from .listing_schemas import CPTS_STATUSES, CommunePage, CptsPage, Level, TerritoryRef
from .settings import SETTINGS, Settings

_ENC = msgspec.json.Encoder()
_CURSOR = msgspec.json.Decoder(tuple[str, str | int])
_OVERHEAD = 256


class Page(msgspec.Struct, frozen=True):
    """A page as kept: the answer, and the cursor its Link header names (None: the last page)."""

    entry: Entry
    next_cursor: str | None


LIST_CACHE = web.AppKey("list_cache", ByteLRU[str, Page])


def list_cache(settings: Settings) -> ByteLRU[str, Page]:
    """The pages of the current data versions, bounded in bytes (0 disables)."""
    return ByteLRU(
        settings.list_cache_max_bytes,
        lambda key, page: page.entry.size + len(key) + _OVERHEAD,
        ttl_s=settings.cache_ttl_s,
    )


class _Level(msgspec.Struct, frozen=True):
    """One level a list of communes is asked by: its code form (services/common/validation.py) and words."""

    form: re.Pattern[str]
    pattern: str  # OpenAPI: blanks around and lower case tolerated, as the handler does
    example: str
    path: str  # /api/v1/{path}/{code}/communes
    noun: str
    of: str  # "d'un département"
    none: str  # "aucun département"


def _pattern(form: re.Pattern[str]) -> str:
    return rf"^\s*(?:{form.pattern})\s*$"


_LEVELS: dict[str, _Level] = {
    "departement": _Level(
        DEPARTEMENT_FORM,
        DEPARTEMENT_PATTERN,
        "2A",
        "departements",
        "département",
        "d'un département",
        "aucun département",
    ),
    "region": _Level(
        REGION_FORM, _pattern(REGION_FORM), "94", "regions", "région", "d'une région", "aucune région"
    ),
    "epci": _Level(EPCI_FORM, _pattern(EPCI_FORM), "242010056", "epci", "EPCI", "d'un EPCI", "aucun EPCI"),
}


def _territory_code(level: str, raw: str) -> str:
    code = raw.strip().upper()
    if not _LEVELS[level].form.fullmatch(code):
        raise InvalidTerritoryCode(
            f"code de {_LEVELS[level].noun} mal formé : « {raw[:40]} »", level=level, offenders=[raw[:40]]
        )
    return code


def _limit(request: web.Request) -> int:
    settings = request.app[SETTINGS]
    raw = request.query.get("limit")
    most = settings.list_limit_max
    if raw is None:
        return settings.list_limit_default
    if not raw.isascii() or not raw.strip().isdigit() or not 1 <= int(raw) <= most:
        raise InvalidParameter(
            f"`limit` doit être un entier entre 1 et {most}", parameter="limit", minimum=1, maximum=most
        )
    return int(raw)


def _flag(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidParameter(f"`{name}` vaut true ou false", parameter=name, allowed=["true", "false"])
    return raw == "true"


def encode_cursor(kind: str, key: str | int) -> str:
    """The opaque cursor of the page after `key` in list `kind`."""
    return base64.urlsafe_b64encode(_ENC.encode((kind, key))).rstrip(b"=").decode()


def _cursor(request: web.Request, kind: str) -> str | int | None:
    """The key a client's cursor stands for; refused unless this list made it."""
    raw = request.query.get("cursor")
    if raw is None:
        return None
    try:
        if len(raw) > 64 or not raw.isascii():
            raise ValueError(raw)
        made, key = _CURSOR.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidCursor("curseur illisible : repartez de la première page", parameter="cursor") from None
    valid = (kind == "cpts" and isinstance(key, int) and key >= 0) or (
        kind == "communes" and isinstance(key, str) and len(key) <= 5 and key.isalnum()
    )
    if made != kind or not valid:
        raise InvalidCursor("ce curseur n'est pas celui de cette liste", parameter="cursor")
    return key


def _link(settings: Settings, path: str, params: dict[str, str], next_cursor: str | None) -> str:
    """RFC 8288 Link value: the first page always, the next one unless this is the last."""
    origin = settings.public_url.rstrip("/")
    first = {k: v for k, v in sorted(params.items()) if k != "cursor"}
    links = [f'<{origin}{path}?{urlencode(first)}>; rel="first"']
    if next_cursor is not None:
        links.insert(0, f'<{origin}{path}?{urlencode({**first, "cursor": next_cursor})}>; rel="next"')
    return ", ".join(links)


async def _answer(
    request: web.Request,
    path: str,
    params: dict[str, str],
    fetch: Callable[[Any], Awaitable[tuple[msgspec.Struct, str | None]]],
) -> web.Response:
    """The page of this canonical path and parameters, from the list cache or from one query."""
    catalogue = request.app[CATALOGUE].get()
    key = "|".join((catalogue.version, path, urlencode(sorted(params.items()))))
    cache = request.app[LIST_CACHE]
    page = cache.fresh(key)
    how = "HIT"
    if page is None:
        async with (
            connection(request.app[POOL], request.app[SETTINGS].acquire_timeout_s) as conn,
        ):
            body, next_cursor = await fetch(conn)
        page, how = Page(make_entry(_ENC.encode(body), JSON), next_cursor), "MISS"
        cache.put(key, page)
    request.app[CACHE].count("list", how.lower())
    link = _link(request.app[SETTINGS], path, params, page.next_cursor)
    return entry_response(request, page.entry, how, {"Link": link})


def _params(request: web.Request, names: tuple[str, ...], **canonical: str | None) -> dict[str, str]:
    """The parameters a page's key and links are made of, in canonical form, absent ones left out."""
    out = {k: v for k, v in canonical.items() if v is not None}
    for name in names:
        if name in request.query and name not in out:
            out[name] = request.query[name]
    return out


_LIMIT = Param(
    "limit",
    lambda s: {"type": "integer", "minimum": 1, "maximum": s.list_limit_max, "default": s.list_limit_default},
    "Taille de la page.",
    example=50,
)
_CURSOR_PARAM = Param(
    "cursor",
    {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"},
    '`next_cursor` de la page précédente (ou l\'URL `rel="next"` du `Link`) ; absent : la première page.',
)
_PAGE_FAILS = (
    Fails(InvalidCursor, "curseur illisible ou d'une autre liste : repartir de la première page"),
    Fails(InvalidParameter, lambda s: f"`limit` hors de 1 à {s.list_limit_max} (avec `minimum`, `maximum`)"),
    Fails(InvalidTerritoryCode, "avec `level`"),
    docparts.UNKNOWN_PARAMETER,
    *docparts.DATABASE,
)
_PAGE_DOC = (
    "Pages par curseur (ordre stable) : suivre `next_cursor` ou l'en-tête `Link` (`rel=\"next\"`) jusqu'à ce "
    "qu'il n'y en ait plus ; `total` compte tout ce qui répond aux filtres."
)


def _territory_filter(level: str) -> Param:
    lv = _LEVELS[level]
    return Param(level, {"type": "string", "pattern": lv.pattern}, f"Code de {lv.noun}.", example=lv.example)


@API.get(
    "/api/v1/cpts",
    Doc(
        operation_id="listCpts",
        summary="Les CPTS existantes : nom, statut, communes, population",
        description=lambda s: (
            "CPTS ayant signé l'accord conventionnel interprofessionnel ou en projet, par identifiant, "
            f"filtrables par département, région et statut ; {s.list_limit_default} par page par défaut. "
            f"{_PAGE_DOC} La liste est de démonstration tant que `source.is_demo` le dit."
        ),
        tag="listes",
        answer=Answer("Une page de CPTS", struct=CptsPage, x_cache=True, paged=True),
        params=(
            _territory_filter("departement"),
            _territory_filter("region"),
            Param("statut", {"type": "string", "enum": list(CPTS_STATUSES)}, "Statut.", example="aci_signe"),
            _LIMIT,
            _CURSOR_PARAM,
        ),
        fails=_PAGE_FAILS,
    ),
)
async def list_cpts(request: web.Request) -> web.Response:
    """The existing CPTS, page by page."""
    checked_query(request, ("departement", "region", "statut", "limit", "cursor"))
    query = request.query
    departement = _territory_code("departement", query["departement"]) if "departement" in query else None
    region = _territory_code("region", query["region"]) if "region" in query else None
    statut = query.get("statut")
    if statut is not None and statut not in CPTS_STATUSES:
        raise InvalidParameter(
            "`statut` inconnu", parameter="statut", allowed=list(CPTS_STATUSES), offenders=[statut[:40]]
        )
    limit, after = _limit(request), _cursor(request, "cpts")
    params = _params(
        request, ("cursor",), departement=departement, region=region, statut=statut, limit=str(limit)
    )
    source = next((s for s in request.app[CATALOGUE].get().sources if s.source == "cpts"), None)

    async def fetch(conn: Any) -> tuple[msgspec.Struct, str | None]:
        total, items, more = await queries.cpts_page(
            conn, departement, region, statut, int(after or 0), limit
        )
        next_cursor = encode_cursor("cpts", items[-1].id) if more else None
        return CptsPage(
            items=items, total=total, limit=limit, next_cursor=next_cursor, source=source
        ), next_cursor

    return await _answer(request, "/api/v1/cpts", params, fetch)


def _communes_route(level: str) -> None:
    """GET /api/v1/{departements|regions|epci}/{code}/communes."""
    lv = _LEVELS[level]
    kind = cast(Level, level)

    async def handler(request: web.Request) -> web.Response:
        checked_query(request, ("selectable", "in_cpts", "limit", "cursor"))
        code = _territory_code(level, request.match_info["code"])
        selectable, in_cpts = _flag(request, "selectable"), _flag(request, "in_cpts")
        limit, after = _limit(request), _cursor(request, "communes")
        params = _params(request, ("selectable", "in_cpts", "cursor"), limit=str(limit))

        async def fetch(conn: Any) -> tuple[msgspec.Struct, str | None]:
            nom, total, items, more = await queries.communes_page(
                conn, level, code, selectable, in_cpts, str(after or ""), limit
            )
            if nom is None:
                raise UnknownTerritory(f"{lv.none} de code {code}", level=level, unknown=[code])
            next_cursor = encode_cursor("communes", items[-1].code) if more else None
            territory = TerritoryRef(level=kind, code=code, nom=nom)
            page = CommunePage(
                territory=territory, items=items, total=total, limit=limit, next_cursor=next_cursor
            )
            return page, next_cursor

        # The canonical path (`2a`, ` 2A ` → `2A`): one cache entry, and Link URLs that are URLs.
        return await _answer(request, f"/api/v1/{lv.path}/{code}/communes", params, fetch)

    handler.__doc__ = f"The communes of a {level}, page by page."
    doc = Doc(
        operation_id=f"list{level.capitalize()}Communes",
        summary=f"Les communes {lv.of}, avec leur CPTS",
        description=lambda s: (
            f"Communes et arrondissements municipaux {lv.of}, par code, filtrables (sélectionnables ou non, "
            f"dans une CPTS ou hors de toute CPTS) ; {s.list_limit_default} par page par défaut. {_PAGE_DOC}"
        ),
        tag="listes",
        answer=Answer(f"Une page des communes {lv.of}", struct=CommunePage, x_cache=True, paged=True),
        params=(
            Param(
                "code",
                {"type": "string", "pattern": lv.pattern},
                f"Code de {lv.noun}.",
                where="path",
                example=lv.example,
            ),
            Param(
                "selectable", {"type": "boolean"}, "true : les unités sélectionnables ; false : les autres."
            ),
            Param(
                "in_cpts",
                {"type": "boolean"},
                "true : les communes déjà dans une CPTS ; false : celles hors de toute CPTS.",
                example=False,
            ),
            _LIMIT,
            _CURSOR_PARAM,
        ),
        fails=(*_PAGE_FAILS, Fails(UnknownTerritory, "avec `level` et `unknown`")),
    )
    API.add("GET", f"/api/v1/{lv.path}/{{code}}/communes", handler, doc)


for _level in _LEVELS:
    _communes_route(_level)
