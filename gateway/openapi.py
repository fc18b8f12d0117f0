"""The OpenAPI 3.1 document of the public API, built once at start-up from the route table
(gateway/apitable.py): every path, operation id, parameter, body, answer and error comes from an operation's
declaration, the components from the msgspec Structs those declarations name, limits and the public origin
(`servers`) from the settings — never from a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from services.common.errors import PayloadTooLarge, RequestTimeout, UnsupportedMediaType

from .apitable import Answer, ApiTable, Body, Fails, Operation, Param, text
from .errors import Overloaded, RateLimited, UnknownApiKey
from .ratelimit import KEY_HEADER, POLICY
from .schemas import Problem
from .settings import Settings

_REF = "#/components/schemas/{name}"
PROBLEM = "application/problem+json"
# Every /api/ answer may be one of these (gateway/resilience.py: the budget per client, the in-flight cap).
_ALWAYS = (
    Fails(RateLimited, "budget du client (ou de sa clé) épuisé ; Retry-After : quand réessayer", retry=True),
    Fails(Overloaded, "trop de requêtes en cours", retry=True),
    Fails(UnknownApiKey, f"`{KEY_HEADER}` envoyée mais inconnue ; sans clé, l'API publique répond"),
)
# On every /api/ answer, errors and 429 included (gateway/ratelimit.py `headers`).
_RATELIMIT = {
    "RateLimit-Policy": {
        "schema": {"type": "string"},
        "description": (
            f'le budget : `"{POLICY}";q=<requêtes>;w=<secondes>` (draft-ietf-httpapi-ratelimit-headers)'
        ),
        "example": f'"{POLICY}";q=120;w=60',
    },
    "RateLimit": {
        "schema": {"type": "string"},
        "description": f'ce qu\'il en reste : `"{POLICY}";r=<restantes>;t=<secondes avant remise à zéro>`',
        "example": f'"{POLICY}";r=119;t=60',
    },
}
# Optional: a regional tool's key gives it its own quota; the public map sends none.
SECURITY_SCHEMES = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": KEY_HEADER,
        "description": (
            "Facultative : une clé d'outil régional, configurée par l'exploitant (REZONE_GATEWAY_API_KEYS), "
            "donne son propre quota. Sans clé, le budget est celui de l'adresse du client. Une clé inconnue "
            "est refusée (401 `unknown_api_key`)."
        ),
    }
}
_CACHED = {
    "ETag": {"schema": {"type": "string"}, "description": "validateur fort (If-None-Match → 304)"},
    "Cache-Control": {"schema": {"type": "string"}},
}
_X_CACHE = {
    "X-Cache": {
        "schema": {"type": "string", "enum": ["HIT", "SHARED", "COALESCED", "MISS", "STALE"]},
        "description": "d'où vient la réponse : cache local, partagé (Redis), calcul en cours, service amont",
    }
}
_LINK = {
    "Link": {
        "schema": {"type": "string"},
        "description": 'RFC 8288 : `<…>; rel="next"` (page suivante, absent sur la dernière), `rel="first"`',
    }
}


def _ref(struct: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": _REF.format(name=struct.__name__)}


def _param(p: Param, settings: Settings) -> dict[str, Any]:
    schema = p.schema if isinstance(p.schema, dict) else p.schema(settings)
    out: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required or p.where == "path"}
    if p.description:
        out["description"] = p.description
    if p.listed:
        out.update(style="form", explode=False)
        schema = _blank_pieces_skipped(schema)
    out["schema"] = schema
    if p.example is not None:
        out["example"] = p.example
    return out


def _blank_pieces_skipped(schema: dict[str, Any]) -> dict[str, Any]:
    """A list in the query string (`a,,b`, `ald=`): blank pieces are skipped (normalise.split_codes), so the
    items' pattern admits them; `ald=` is the empty list it serialises to in OpenAPI's form style."""
    items = schema["items"]
    inner = items["pattern"].removeprefix("^").removesuffix("$")
    return {**schema, "items": {**items, "pattern": rf"^(?:{inner}|\s*)$"}}


def _answer(a: Answer, settings: Settings) -> dict[str, Any]:
    schema = _ref(a.struct) if a.struct is not None else (a.schema or {})
    media: dict[str, Any] = {"schema": schema}
    if a.example is not None:
        example = a.example(settings) if callable(a.example) else a.example
        media["example"] = msgspec.to_builtins(example)
    headers = {
        **(_CACHED if a.cached else {}),
        **(_X_CACHE if a.x_cache else {}),
        **(_LINK if a.paged else {}),
        **a.headers,
        **_RATELIMIT,
    }
    return {"description": a.description, "headers": headers, "content": {a.media: media}}


def _body(b: Body) -> dict[str, Any]:
    content: dict[str, Any] = {k: dict(v) for k, v in b.media.items()}
    if b.struct is not None:
        content["application/json"] = {"schema": _ref(b.struct)}
    if b.example is not None:
        for media in content.values():
            media["example"] = b.example
    return {"required": True, "content": content}


def _body_fails(b: Body) -> tuple[Fails, ...]:
    fails = [
        Fails(PayloadTooLarge, lambda s: f"corps de plus de {s.client_max_size // 1024} Kio"),
        Fails(RequestTimeout, "corps reçu trop lentement"),
    ]
    if b.struct is not None:
        fails.append(Fails(UnsupportedMediaType, "le corps doit être déclaré `application/json`"))
    return tuple(fails)


def _errors(fails: Iterable[Fails], settings: Settings) -> dict[str, Any]:
    """One response per status, its description naming each `code` it may carry."""
    by_status: dict[int, list[Fails]] = {}
    for f in fails:
        listed = by_status.setdefault(f.error.status, [])
        if all(o.error.code != f.error.code for o in listed):
            listed.append(f)
    out: dict[str, Any] = {}
    for status in sorted(by_status):
        group = by_status[status]
        parts = []
        for f in group:
            note = text(f.note, settings)
            parts.append(f"`{f.error.code}`" + (f" ({note})" if note else ""))
        response: dict[str, Any] = {
            "description": ", ".join(parts),
            "content": {PROBLEM: {"schema": _ref(Problem)}},
        }
        headers = dict(_RATELIMIT)
        if any(f.retry for f in group):
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "secondes"}
        response["headers"] = headers
        out[str(status)] = response
    return out


def _operation(op: Operation, settings: Settings) -> dict[str, Any]:
    doc = op.doc
    out: dict[str, Any] = {"operationId": doc.operation_id, "summary": doc.summary, "tags": [doc.tag]}
    description = text(doc.description, settings)
    if description:
        out["description"] = description
    out["parameters"] = [_param(p, settings) for p in doc.params]
    fails = [*doc.fails, *_ALWAYS]
    if doc.body is not None:
        out["requestBody"] = _body(doc.body)
        fails.extend(_body_fails(doc.body))
    responses = {str(doc.answer.status): _answer(doc.answer, settings)}
    if doc.answer.cached:
        responses["304"] = {"description": "Non modifié (If-None-Match)", "headers": dict(_RATELIMIT)}
    responses.update(_errors(fails, settings))
    out["responses"] = responses
    return out


def _structs(table: ApiTable) -> list[type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for op in table.operations:
        for struct in (op.doc.answer.struct, op.doc.body.struct if op.doc.body else None):
            if struct is not None:
                found.setdefault(struct.__name__, struct)
    return [*found.values(), Problem]


# The sections of the reference, in reading order; every operation's tag is one of them.
TAGS = {
    "sources": "Ce qui est chargé : version des données, sources et millésimes, limites",
    "communes": "Recherche et fiche d'une commune",
    "listes": "Pour les outils régionaux : CPTS existantes, communes d'un territoire, par pages",
    "territoire": "Diagnostic d'une sélection de communes (données de démonstration)",
    "exports": "Rapport PDF, export CSV, fichier projet",
    "lots": "Pour les outils régionaux : rapports PDF en lot, faits en arrière-plan, à relever ensuite",
}


def build(settings: Settings, table: ApiTable) -> dict[str, Any]:
    """The whole document for these settings."""
    _, components = msgspec.json.schema_components(_structs(table), ref_template=_REF)
    unknown = {op.doc.tag for op in table.operations} - set(TAGS)
    if unknown:
        raise ValueError(f"operations tagged outside TAGS: {sorted(unknown)}")
    paths: dict[str, dict[str, Any]] = {}
    order = list(TAGS)
    for op in sorted(table.operations, key=lambda op: order.index(op.doc.tag)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, settings)
    ids = [op.doc.operation_id for op in table.operations]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"operationId used twice: {sorted(duplicated)}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rézone CPTS",
            "version": "1.0.0",
            "description": (
                "API publique de Rézone CPTS : recherche et listes de communes, CPTS existantes, diagnostic "
                f"territorial d'une sélection d'au plus {settings.max_communes} communes, rapport PDF et "
                "exports. Les données de santé sont des données de démonstration. Référence interactive : "
                "/api/v1/docs ; exemples : docs/api.md."
            ),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": settings.public_url.rstrip("/"), "description": "cette installation"}],
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": name, "description": about} for name, about in TAGS.items()],
        "paths": paths,
        # Anonymous or with a key: both are allowed on every operation.
        "security": [{}, {"apiKey": []}],
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }
